#!/usr/bin/env python3
"""A real SMTP server for tests (aiosmtpd): listens on 127.0.0.1 on a free
port, prints "port N" once it listens, and writes each message it accepts
to FOLDER/N.eml (N counting from 1, written whole, then renamed).

Answers: FOLDER/answers, when it exists, holds one SMTP answer a line
("451 Try again later", "550 No such mailbox"); each message takes the
first line that is left and is refused with it (the line is consumed), a
"250" line accepts it. Without lines left, every message is accepted.

Usage: smtp-sink.py FOLDER
"""
import asyncio
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    def next_answer(self):
        path = os.path.join(self.folder, "answers")
        try:
            with open(path) as f:
                lines = [l for l in f.read().splitlines() if l.strip()]
        except FileNotFoundError:
            return None
        if not lines:
            return None
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(lines[1:]) + ("\n" if lines[1:] else ""))
        os.replace(path + ".tmp", path)
        return lines[0].strip()

    async def handle_DATA(self, server, session, envelope):
        answer = self.next_answer()
        if answer is not None and not answer.startswith("250"):
            return answer
        self.count += 1
        name = os.path.join(self.folder, "%d.eml" % self.count)
        with open(name + ".part", "wb") as f:
            f.write(b"X-Envelope-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content)
        os.replace(name + ".part", name)
        return "250 Message accepted"


async def main(folder):
    os.makedirs(folder, exist_ok=True)
    sink = Sink(folder)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test"), "127.0.0.1", 0
    )
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
