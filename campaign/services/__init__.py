"""Business rules: plain functions taking a session and data. They flush; callers commit."""
