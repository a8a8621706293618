"""Demo data for ``kefu demo``: scripted support conversations played through the real services."""
