#!/usr/bin/env python3
"""A real SMTP server on loopback for Ozvi's tests (aiosmtpd, from Debian's
python3-aiosmtpd, which `cargo xtask test` installs).

    server.py PORT CERT KEY USER PASSWORD OUTDIR

Listens on 127.0.0.1:PORT (0: any free port), offers STARTTLS with CERT and
KEY and requires it before anything else, and accepts mail only after
AUTH PLAIN or LOGIN as USER with PASSWORD. Each accepted mail is written to
OUTDIR as NNNN.eml, exactly as received, after two lines that record its
SMTP envelope (X-Test-Envelope-From, X-Test-Envelope-To). Prints
"READY <port>" once it listens; runs until it is killed.
"""

import itertools
import os
import socket
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, outdir):
        self.outdir = outdir
        self.numbers = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        path = os.path.join(self.outdir, "%04d.eml" % next(self.numbers))
        head = "X-Test-Envelope-From: %s\r\nX-Test-Envelope-To: %s\r\n" % (
            envelope.mail_from,
            ",".join(envelope.rcpt_tos),
        )
        with open(path + ".part", "wb") as out:
            out.write(head.encode())
            out.write(envelope.original_content or envelope.content)
        os.rename(path + ".part", path)
        return "250 OK"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False)

    return check


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    port, cert, key, user, password, outdir = sys.argv[1:7]
    port = int(port) or free_port()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    controller = Controller(
        Store(outdir),
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator(user, password),
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    print("READY %d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
