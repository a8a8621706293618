"""Channels at the edge: email and Telegram turn what arrives into tickets and messages through
``kefu.tickets.creation`` and ``kefu.tickets.replies`` (which guard, detect the language and
persist), and deliver what agents and the assistant write back (job ``channels.deliver``).
Only ``kefu.app`` imports this package."""
