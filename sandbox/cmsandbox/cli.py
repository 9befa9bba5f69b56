"""Command line of sandbox/cloudctl."""
import argparse
import sys

from cmsandbox import cloud


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="cloudctl", description="Sandbox OpenStack cloud on 127.0.0.1 (Keystone, Placement, "
        "Glance, Nova with simulated hypervisors). State lives in .sandbox/.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="install on first use, then start every service")
    p.add_argument("--computes", type=int, help="number of simulated hypervisors (default 6)")
    sub.add_parser("down", help="stop the processes the sandbox started (data is kept)")
    sub.add_parser("status", help="processes, memory, physics, Nova's view of each host")
    p = sub.add_parser("seed", help="flavors, image, projects and a deterministic fleet")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--servers", type=int, default=36)
    p.add_argument("--fresh", action="store_true",
                   help="delete every server first, re-enable every host, drop campaign ledgers")
    p = sub.add_parser("reboot", help="reboot a simulated hypervisor (its guests come back off)")
    p.add_argument("host")
    p.add_argument("--seconds", type=float, help="how long the host stays down (default: the profile's reboot_s, 10 s on quick)")
    p.add_argument("--no-wait", action="store_true", help="return before the service reports")
    p = sub.add_parser("patch", help="install a newer hypervisor version (active after a reboot)")
    p.add_argument("host")
    p.add_argument("--version", help="this version (MAJOR.MINOR) instead of the next one")
    p.add_argument("--now", action="store_true",
                   help="restart nova-compute now to run it (guests keep running), no reboot")
    p = sub.add_parser("fault", help="inject a fault on a host (api-error: on an API service)")
    p.add_argument("kind", choices=sorted(list(cloud.FAULTS) + [
        "api-error", "api-clear", "bandwidth", "clear", "service-down", "service-up"]))
    p.add_argument("host", help="the host; for api-error and api-clear the service (nova)")
    p.add_argument("value", nargs="?",
                   help="for bandwidth: MiB/s; for api-error: the HTTP status (default 503)")
    p.add_argument("--count", type=int, help="api-error: the next COUNT requests only")
    p.add_argument("--seconds", type=float, help="api-error: for SECONDS from now")
    p.add_argument("--delay", type=float, help="api-error: answer DELAY seconds late instead")
    p.add_argument("--forward", action="store_true",
                   help="api-error: the request goes through, then its answer is lost (the error "
                   "is what the client gets)")
    p.add_argument("--method", action="append", help="api-error: only this method (repeatable)")
    p.add_argument("--path", action="append",
                   help="api-error: only paths starting so, e.g. /v2.1/servers (repeatable)")
    p = sub.add_parser("tidy", help="back to the seeded layout: faults cleared, every host up, "
                       "enabled and at one version, no ledger, only the seeded servers, each on its "
                       "seeded host in its seeded state (quick when nothing is out of place)")
    p.add_argument("--empty", action="append", default=[], metavar="HOST",
                   help="this host's seeded servers sit on the other hosts of its zone (repeatable)")
    p = sub.add_parser("configure", help="profile, post-copy, shared storage; restarts the computes")
    p.add_argument("--profile", choices=["quick", "production"],
                   help="named durations (reboot, boot, shutdown, heartbeats); rules are the same")
    p.add_argument("--post-copy", choices=["on", "off"],
                   help="libvirt live_migration_permit_post_copy (Nova's default: off)")
    p.add_argument("--shared-storage", action="append", default=[], metavar="HOST",
                   help="HOST shares instance storage (repeatable)")
    p.add_argument("--local-storage", action="append", default=[], metavar="HOST",
                   help="HOST has local instance storage again (the default; repeatable)")
    p.add_argument("--no-restart", action="store_true", help="only write the settings and configs")
    sub.add_parser("reset", help="stop everything and wipe the sandbox's data (keeps the venv)")
    args = parser.parse_args(argv)

    try:
        if args.command == "up":
            cloud.up(args.computes)
        elif args.command == "down":
            cloud.down()
        elif args.command == "status":
            cloud.status()
        elif args.command == "seed":
            from cmsandbox import seed
            seed.seed(args.seed, args.servers, fresh=args.fresh)
        elif args.command == "tidy":
            from cmsandbox import tidy
            tidy.tidy(args.empty)
        elif args.command == "patch":
            cloud.patch(args.host, version=args.version, now=args.now)
        elif args.command == "reboot":
            cloud.reboot(args.host, args.seconds, wait=not args.no_wait)
        elif args.command == "fault" and args.kind in ("api-error", "api-clear"):
            cloud.api_fault(args.kind, args.host, args.value, count=args.count,
                            seconds=args.seconds, delay_s=args.delay, methods=args.method,
                            paths=args.path, forward=args.forward)
        elif args.command == "fault":
            if args.kind == "bandwidth" and args.value is None:
                parser.error("fault bandwidth HOST MIBPS")
            cloud.fault(args.kind, args.host, args.value)
        elif args.command == "configure":
            cloud.configure(profile=args.profile,
                            post_copy=None if args.post_copy is None else args.post_copy == "on",
                            shared=args.shared_storage, local=args.local_storage,
                            restart=not args.no_restart)
        elif args.command == "reset":
            cloud.reset()
    except RuntimeError as exc:
        print("cloudctl %s: %s" % (args.command, exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
