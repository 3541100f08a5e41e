"""Appeals (纠错): disputes of a colour, a pop-up or a missing badge, and the overrides they grant."""
