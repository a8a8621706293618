"""Chat load benchmark over real websockets; the same code and options as `kefu bench chat`.

    .venv/bin/python bench/chat_load.py [--quick] [--json] [--mode embedded|cluster|both]
        [--customers 100,1000] [--rate 2] [--duration 8] ...

Starts its own servers (embedded: one `kefu serve` on SQLite; cluster: two `kefu serve` on
one PostgreSQL and one Redis), prints a summary and one JSON line per scenario."""

from __future__ import annotations

from kefu.bench.chat import main

if __name__ == "__main__":
    main()
