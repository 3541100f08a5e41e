"""Loading travel, NAT, itinerary and risk files into the store."""
