"""The ``risk-engine`` command line: parse arguments, call io and the pipeline, report.

Each command is a thin shell (about ten lines) around functions in the package. Exit codes: 0 ok,
1 run error, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from risk_engine import __version__
from risk_engine.errors import InputError, RiskEngineError

Handler = Callable[[argparse.Namespace], int]


def _cmd_validate(args: argparse.Namespace) -> int:
    from risk_engine.io.validate import validate_file

    report = validate_file(Path(args.file), kind=args.kind, sheet=args.sheet)
    print(report.render(), end="")
    return 0 if report.ok else 2


def _cmd_describe(args: argparse.Namespace) -> int:
    from risk_engine.describe import describe_text

    print(describe_text(methodology=args.methodology), end="")
    return 0


def _cmd_match(args: argparse.Namespace) -> int:
    from risk_engine.matching.commands import run_match

    return run_match(
        Path(args.left), Path(args.right), out=Path(args.out), decisions=_opt_path(args.decisions)
    )


def _cmd_dedupe(args: argparse.Namespace) -> int:
    from risk_engine.matching.commands import run_dedupe

    return run_dedupe(Path(args.file), out=Path(args.out), decisions=_opt_path(args.decisions))


def _cmd_screen(args: argparse.Namespace) -> int:
    from risk_engine.io.run import run_screen

    return run_screen(
        suppliers=Path(args.suppliers),
        trade=_opt_path(args.trade),
        audits=_opt_path(args.audits),
        enforcement=_opt_path(args.enforcement),
        reference=_opt_path(args.reference),
        decisions=_opt_path(args.decisions),
        methodology=args.methodology,
        out=Path(args.out),
        engine=args.engine,
        resume=args.resume,
        save_index=args.api_index,
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from risk_engine.io.run import run_demo

    return run_demo(out=Path(args.out), engine=args.engine)


def _cmd_serve(args: argparse.Namespace) -> int:
    from risk_engine.api.serve import serve

    return serve(host=args.host, port=args.port, workers=args.workers, snapshot=_opt_path(args.snapshot))


def _cmd_keys(args: argparse.Namespace) -> int:
    from risk_engine.api.keys_cli import run_keys

    return run_keys(args)


def _opt_path(value: str | None) -> Path | None:
    return Path(value) if value else None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="risk-engine", description="Forced-labour supply-chain risk screening."
    )
    parser.add_argument("--version", action="version", version=f"risk-engine {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="screen the bundled fixtures and write a report")
    p.add_argument("--out", default="risk-engine-demo", help="output directory (default ./risk-engine-demo)")
    p.add_argument("--engine", choices=("local", "spark"), default="local")
    p.set_defaults(handler=_cmd_demo)

    p = sub.add_parser("screen", help="the batch screening job")
    p.add_argument("--suppliers", required=True, help="supplier list (CSV/XLSX/Parquet)")
    p.add_argument("--trade", help="trade records")
    p.add_argument("--audits", help="audit findings")
    p.add_argument("--enforcement", help="enforcement list (table or UFLPA text)")
    p.add_argument("--reference", help="directory with user-supplied reference files (GSI, newer TVPRA)")
    p.add_argument("--decisions", help="remembered match decisions (CSV/Parquet)")
    p.add_argument("--methodology", default="fl-v1")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--engine", choices=("local", "spark"), default="local")
    p.add_argument("--resume", action="store_true", help="resume an interrupted run in --out")
    p.add_argument(
        "--api-index",
        action="store_true",
        help="also save the API's entity index in OUT/entity_index (serve --snapshot OUT starts at once)",
    )
    p.set_defaults(handler=_cmd_screen)

    p = sub.add_parser("match", help="link two record files")
    p.add_argument("left")
    p.add_argument("right")
    p.add_argument("--out", required=True, help="output file (.csv or .parquet)")
    p.add_argument("--decisions", help="remembered match decisions")
    p.set_defaults(handler=_cmd_match)

    p = sub.add_parser("dedupe", help="cluster one record file")
    p.add_argument("file")
    p.add_argument("--out", required=True, help="output file (.csv or .parquet)")
    p.add_argument("--decisions", help="remembered match decisions")
    p.set_defaults(handler=_cmd_dedupe)

    p = sub.add_parser("validate", help="check a file and list every problem")
    p.add_argument("file")
    p.add_argument("--kind", required=True, choices=("suppliers", "trade", "audits", "enforcement"))
    p.add_argument("--sheet", help="XLSX sheet name (default: first sheet)")
    p.set_defaults(handler=_cmd_validate)

    p = sub.add_parser("describe", help="print the methodology, parameters and data versions")
    p.add_argument("--methodology", default="fl-v1")
    p.set_defaults(handler=_cmd_describe)

    p = sub.add_parser("serve", help="start the API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--snapshot", help="snapshot directory (a batch screen's output)")
    p.set_defaults(handler=_cmd_serve)

    p = sub.add_parser("keys", help="manage API keys")
    ks = p.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    k = ks.add_parser("create", help="create a key and print it once")
    k.add_argument("--tenant", required=True)
    k.add_argument("--role", required=True, choices=("member", "analyst", "auditor", "admin"))
    k.add_argument("--expires-days", type=int, default=365)
    k.add_argument("--name", default="")
    ks.add_parser("list", help="list keys (prefixes only)")
    k = ks.add_parser("revoke", help="revoke a key by its prefix")
    k.add_argument("prefix")
    p.set_defaults(handler=_cmd_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``risk-engine`` console script."""
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RiskEngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
