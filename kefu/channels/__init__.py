"""Channels at the edge: email and Telegram turn what arrives into tickets and messages through
``kefu.tickets.service`` (which guards, detects the language and persists), and deliver what
agents and the assistant write back (job ``channels.deliver``). Only ``kefu.app`` imports this
package."""
