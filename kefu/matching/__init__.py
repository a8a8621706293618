"""Question matching: are two customer questions the same question? (SPEC §C)."""
