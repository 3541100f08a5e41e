"""Status and checkpoint checks: the one check pipeline (decide → record → audit → view) and the swipe writer."""
