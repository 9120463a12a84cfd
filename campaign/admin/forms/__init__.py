"""Forms of the organizer panel, one module per area."""
