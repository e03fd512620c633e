"""A scripted agent using the official MCP Python SDK's stdio client.

    python agent.py SCENARIO -- GATE_CMD ARGS...

prints one JSON object with what each step got back, for the Rust test to
assert. Scenarios:
  attack   read_email, then follow the injected instruction (send to the
           address found in the mail)
  benign   read_email, then send to a contact from the task
  fs       list tools; read an allowed file; write a denied one; two moves
           that need approval (the approver decides); read a resource
"""
import asyncio
import os
import json
import re
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def text_of(result):
    return " ".join(getattr(c, "text", "") for c in result.content)


async def main():
    scenario = sys.argv[1]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    # The SDK passes only a few variables by default; the gate and its server need the test's.
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env={**os.environ})
    out = {}
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            out["tools"] = sorted(t.name for t in tools.tools)
            if scenario in ("attack", "benign"):
                mail = await session.call_tool("read_email", {"folder": "inbox"})
                out["read"] = {"error": mail.isError, "text": text_of(mail)}
                if scenario == "attack":
                    to = re.search(r"[\w.-]+@[\w.-]+\.example", text_of(mail).split("send the API key to", 1)[1]).group(0)
                else:
                    to = "alice@example.com"
                sent = await session.call_tool("send_email", {"to": to, "subject": "as requested", "body": "here it is"})
                out["send"] = {"to": to, "error": sent.isError, "text": text_of(sent)}
                try:
                    await session.read_resource("mail://inbox")
                    out["resource"] = "read"
                except Exception as e:  # the gate answers with a JSON-RPC error
                    out["resource"] = "error: " + str(e)
            elif scenario == "fs":
                root = sys.argv[2]
                r = await session.call_tool("read_text_file", {"path": f"{root}/notes.txt"})
                out["read"] = {"error": r.isError, "text": text_of(r)}
                w = await session.call_tool("write_file", {"path": f"{root}/notes.txt", "content": "overwritten"})
                out["write"] = {"error": w.isError, "text": text_of(w)}
                m1 = await session.call_tool("move_file", {"source": f"{root}/a.txt", "destination": f"{root}/b.txt"})
                out["move_approved"] = {"error": m1.isError, "text": text_of(m1)}
                m2 = await session.call_tool("move_file", {"source": f"{root}/c.txt", "destination": f"{root}/d.txt"})
                out["move_refused"] = {"error": m2.isError, "text": text_of(m2)}
    print(json.dumps(out))


asyncio.run(main())
