"""Trust and safety (SPEC §H): Kefu Verify (the official-channel registry), anti-phishing codes,
step-up identity verification through the exchange, the compliance guard, the abuse review queue
and rate limits. ``kefu.trust.service`` is what other domains call."""
