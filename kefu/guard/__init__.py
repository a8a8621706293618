"""Trust and safety: the secret guard, outbound anti-phishing, abuse signals (SPEC §H)."""
