"""``sts`` command line: derive keys, make and decode tokens.

Exit codes: 0 success; 1 ``decode`` ran but the CRC does not hold; 2 bad arguments or input
(one line on stderr naming the argument; never a traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import NoReturn

from sts.ea import EA, parse_key_hex
from sts.errors import StsError
from sts.hazmat.tables import PRODUCTION, SAMPLE
from sts.keys import derive_decoder_key
from sts.recipes import credit_token, currency_credit_token, key_change_tokens, management_token, test_token
from sts.tid import tid_from_datetime
from sts.tokens import TokenClass, explain_token

__all__ = ["main"]


class _ArgError(Exception):
    def __init__(self, arg: str, message: str) -> None:
        super().__init__(f"argument {arg}: {message}")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        line = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {line}\n")


def _int_arg(name: str, text: str, lo: int, hi: int, base: int = 10) -> int:
    try:
        value = int(text, base)
    except ValueError:
        raise _ArgError(name, f"not a {'hex ' if base == 16 else ''}number: {text!r}") from None
    if not lo <= value <= hi:
        raise _ArgError(name, f"must be {lo}..{hi}, got {value}")
    return value


def _key_arg(name: str, text: str, lengths: tuple[int, ...]) -> bytes:
    try:
        return parse_key_hex(text, lengths)
    except StsError as exc:
        raise _ArgError(name, str(exc)) from None


def _ea_key(args: argparse.Namespace, name: str = "--key") -> tuple[EA, bytes]:
    ea = EA(args.ea)
    return ea, _key_arg(name, getattr(args, name.strip("-").replace("-", "_")), (ea.key_length,))


def _cmd_decoder_key(args: argparse.Namespace) -> int:
    lengths = {"01": (8,), "02": (8,), "03": (16,), "04": (20,)}[args.dkga]
    vk = _key_arg("--vending-key", args.vending_key, lengths)
    kt = _int_arg("--kt", args.kt, 0, 3)
    krn = _int_arg("--krn", args.krn, 1, 9)
    if args.dkga != "04" and args.ea == "11":
        raise _ArgError("--ea", f"DKGA{args.dkga} gives 64-bit keys; EA11 needs --dkga 04")
    key = derive_decoder_key(
        dkga=args.dkga,
        vending_key=vk,
        iin=args.iin,
        drn=args.drn,
        kt=kt,
        sgc=args.sgc,
        ti=args.ti,
        krn=krn,
        base_date=int(args.base_date),
        ea=args.ea,
    )
    print(key.hex().upper())
    return 0


def _cmd_credit(args: argparse.Namespace) -> int:
    ea, key = _ea_key(args)
    subclass = _int_arg("--subclass", args.subclass, 0, 7)
    rnd = _int_arg("--rnd", args.rnd, 0, 15)
    if (args.tid is None) == (args.issued_at is None):
        raise _ArgError("--tid", "give exactly one of --tid or --issued-at")
    if args.issued_at is not None:
        try:
            when = datetime.fromisoformat(args.issued_at.replace("Z", "+00:00"))
        except ValueError:
            raise _ArgError("--issued-at", f"not an ISO 8601 date-time: {args.issued_at!r}") from None
        try:
            tid = tid_from_datetime(when, int(args.base_date))
        except StsError as exc:
            raise _ArgError("--issued-at", str(exc)) from None
    else:
        tid = _int_arg("--tid", args.tid, 0, 0xFFFFFF)
    if subclass >= 4:
        if rnd:
            raise _ArgError("--rnd", "currency subclasses 4..7 have no RND")
        try:
            units = int(args.units)
            print(currency_credit_token(key=key, ea=ea, subclass=subclass, amount=units, tid=tid))
        except (ValueError, StsError) as exc:
            raise _ArgError("--units", str(exc)) from None
        return 0
    units = _int_arg("--units", args.units, 0, 18_201_624)
    print(credit_token(key=key, ea=ea, subclass=subclass, tid=tid, units=units, rnd=rnd))
    return 0


def _cmd_management(args: argparse.Namespace) -> int:
    ea, key = _ea_key(args)
    subclass = _int_arg("--subclass", args.subclass, 0, 15)
    if subclass not in (0, 1, 2, 5, 6, 7):
        raise _ArgError(
            "--subclass", "management subclass must be 0, 1, 2, 5, 6 or 7 (key changes: key-change)"
        )
    tid = _int_arg("--tid", args.tid, 0, 0xFFFFFF)
    value = _int_arg("--value", args.value, 0, 0xFFFF, 16)
    rnd = _int_arg("--rnd", args.rnd, 0, 15)
    print(management_token(key=key, ea=ea, subclass=subclass, tid=tid, value=value, rnd=rnd))
    return 0


def _cmd_key_change(args: argparse.Namespace) -> int:
    ea, key = _ea_key(args)
    new_key = _key_arg("--new-key", args.new_key, (ea.key_length,))
    kt = _int_arg("--kt", args.kt, 0, 3)
    krn = _int_arg("--krn", args.krn, 1, 9)
    ti = _int_arg("--ti", args.ti, 0, 99)
    ken = _int_arg("--ken", args.ken, 0, 0xFF, 16)
    if ea is EA.EA11 and args.sgc is None:
        raise _ArgError("--sgc", "required for 128-bit (EA11) key change sets")
    if args.sgc is not None and (len(args.sgc) != 6 or not args.sgc.isdigit()):
        raise _ArgError("--sgc", f"must be 6 decimal digits, got {args.sgc!r}")
    tokens = key_change_tokens(
        old_key=key,
        ea=ea,
        new_key=new_key,
        kt=kt,
        krn=krn,
        ti=ti,
        ken=ken,
        ro=int(args.ro),
        sgc=args.sgc if ea is EA.EA11 else None,
    )
    print("\n".join(tokens))
    return 0


def _cmd_test(args: argparse.Namespace) -> int:
    sub = int(args.subclass)
    control = _int_arg("--control", args.control, 0, (1 << (36 if sub == 0 else 28)) - 1)
    mfr = _int_arg("--mfr", args.mfr, 0, 99 if sub == 0 else 9999)
    print(test_token(subclass=sub, control=control, mfr_code=mfr))
    return 0


def _cmd_decode(args: argparse.Namespace) -> int:
    key = None
    ea = None
    if (args.key is None) != (args.ea is None):
        raise _ArgError("--key" if args.key is None else "--ea", "--ea and --key go together")
    if args.key is not None:
        ea, key = _ea_key(args)
    try:
        ex = explain_token(args.token, key, ea, tables=SAMPLE if args.sample_tables else PRODUCTION)
    except StsError as exc:
        raise _ArgError("TOKEN", str(exc)) from None
    if args.json:
        print(json.dumps(ex.to_dict(), sort_keys=True))
    else:
        print(f"token: {ex.digits}")
        print(f"class: {ex.token_class} ({TokenClass(ex.token_class).name})")
        print(f"subclass: {'?' if ex.subclass is None else ex.subclass}")
        crc = "unknown (no key)" if ex.crc_ok is None else ("ok" if ex.crc_ok else "FAIL")
        print(f"crc: {crc}" + (f" ({ex.crc_kind})" if ex.crc_kind else ""))
        if ex.block is not None:
            print(f"block: {ex.block:016X}")
        for name, value in ex.fields.items():
            print(f"{name}: {value}")
        if ex.error:
            print(f"note: {ex.error}")
    return 1 if ex.crc_ok is False else 0


def _parser() -> _Parser:
    p = _Parser(prog="sts", description="STS (IEC 62055-41) token engine")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("decoder-key", help="derive a decoder key (DKGA02/04)")
    d.add_argument("--dkga", required=True, choices=["01", "02", "03", "04"])
    d.add_argument("--vending-key", required=True, metavar="HEX")
    d.add_argument("--iin", required=True)
    d.add_argument("--drn", required=True)
    d.add_argument("--kt", required=True, metavar="N")
    d.add_argument("--sgc", required=True)
    d.add_argument("--ti", required=True)
    d.add_argument("--krn", required=True, metavar="N")
    d.add_argument("--base-date", default="1993", choices=["1993", "2014", "2035"])
    d.add_argument("--ea", default="07", choices=["07", "11"])
    d.set_defaults(func=_cmd_decoder_key)

    c = sub.add_parser("credit", help="class 0 credit token")
    c.add_argument("--ea", required=True, choices=["07", "09", "11"])
    c.add_argument("--key", required=True, metavar="HEX")
    c.add_argument("--subclass", required=True, metavar="N")
    c.add_argument("--tid", metavar="N")
    c.add_argument("--issued-at", metavar="ISO8601")
    c.add_argument("--base-date", default="1993", choices=["1993", "2014", "2035"])
    c.add_argument("--units", required=True, metavar="N", help="0.1 units (subclasses 4..7: 1e-5 currency)")
    c.add_argument("--rnd", default="0", metavar="N")
    c.set_defaults(func=_cmd_credit)

    m = sub.add_parser("management", help="class 2 management token (raw 16-bit value)")
    m.add_argument("--ea", required=True, choices=["07", "09", "11"])
    m.add_argument("--key", required=True, metavar="HEX")
    m.add_argument("--subclass", required=True, metavar="N")
    m.add_argument("--tid", required=True, metavar="N")
    m.add_argument("--value", required=True, metavar="HEX16")
    m.add_argument("--rnd", default="0", metavar="N")
    m.set_defaults(func=_cmd_management)

    k = sub.add_parser("key-change", help="key change token set")
    k.add_argument("--ea", required=True, choices=["07", "09", "11"])
    k.add_argument("--key", required=True, metavar="OLDHEX")
    k.add_argument("--new-key", required=True, metavar="NEWHEX")
    k.add_argument("--kt", required=True, metavar="N")
    k.add_argument("--krn", required=True, metavar="N")
    k.add_argument("--ti", required=True)
    k.add_argument("--ken", required=True, metavar="HEX2")
    k.add_argument("--ro", required=True, choices=["0", "1"])
    k.add_argument("--sgc")
    k.set_defaults(func=_cmd_key_change)

    t = sub.add_parser("test", help="class 1 test/display token")
    t.add_argument("--subclass", required=True, choices=["0", "1"])
    t.add_argument("--control", required=True, metavar="N")
    t.add_argument("--mfr", required=True, metavar="N")
    t.set_defaults(func=_cmd_test)

    x = sub.add_parser("decode", help="decode and explain a token")
    x.add_argument("--ea", choices=["07", "09", "11"])
    x.add_argument("--key", metavar="HEX")
    x.add_argument("--sample-tables", action="store_true", help="EA07 with the IEC sample tables")
    x.add_argument("--json", action="store_true")
    x.add_argument("token", metavar="TOKEN")
    x.set_defaults(func=_cmd_decode)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        result: int = args.func(args)
        return result
    except _ArgError as exc:
        print(f"sts {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except StsError as exc:
        print(f"sts {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback
        print(f"sts {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
