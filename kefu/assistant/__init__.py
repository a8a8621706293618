"""The assistant: language, intent, facts, retrieval, answer or hand-off (SPEC §D)."""
