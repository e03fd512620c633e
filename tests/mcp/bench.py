"""Benchmark (not a test): the latency a tools/call gains through
`agentpolc gate`, against calling the same server directly, in one run.

    target/mcp-venv/bin/python tests/mcp/bench.py target/release/agentpolc [N]

Both paths use the official Python SDK client and the mail server of
tests/mcp; the call is `read_email` (allowed, untrusted: the gate also records
its result for taint tracking). Prints median and p99 of each, and the added
latency."""
import asyncio
import os
import statistics
import sys
import tempfile
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

HERE = os.path.dirname(os.path.abspath(__file__))


async def measure(command, args, n):
    times = []
    params = StdioServerParameters(command=command, args=args, env={**os.environ})
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            for _ in range(20):  # warm-up
                await session.call_tool("read_email", {"folder": "inbox"})
            for _ in range(n):
                t = time.perf_counter()
                r = await session.call_tool("read_email", {"folder": "inbox"})
                times.append(time.perf_counter() - t)
                assert not r.isError, r
    times.sort()
    return statistics.median(times) * 1e6, times[int(len(times) * 0.99) - 1] * 1e6


async def main():
    agentpolc = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    server = [sys.executable, os.path.join(HERE, "mail_server.py")]
    with tempfile.TemporaryDirectory() as d:
        os.environ["MAIL_SENT_LOG"] = os.path.join(d, "sent.jsonl")
        gate = ["gate", "--policy", os.path.join(HERE, "mail.agentpol"), "--agent", "assistant",
                "--log", os.path.join(d, "log.jsonl"), "--"] + server
        direct = await measure(server[0], server[1:], n)
        gated = await measure(agentpolc, gate, n)
    print(f"calls per path: {n}")
    print(f"direct: median {direct[0]:.0f} us, p99 {direct[1]:.0f} us")
    print(f"gate:   median {gated[0]:.0f} us, p99 {gated[1]:.0f} us")
    print(f"added:  median {gated[0] - direct[0]:.0f} us ({gated[0] / direct[0]:.2f}x), p99 {gated[1] - direct[1]:.0f} us")


asyncio.run(main())
