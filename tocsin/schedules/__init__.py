"""On-call schedules: layers, restrictions, overrides and who is on call when."""
