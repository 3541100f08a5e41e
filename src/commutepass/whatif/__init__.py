"""What-if: replay a candidate policy on the recorded checks and daily statuses of a window."""
