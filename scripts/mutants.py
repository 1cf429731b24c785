"""``make mutants``: harmful single edits to infra/ and adf_pipelines/, each of which a test must
catch.

Each mutant replaces one exact piece of a source file with a weakened version (an open
firewall, a writable landing location, a secret shown in run monitoring...), runs the tests that
guard that property, and restores the file. The run fails unless every mutant fails a test.

A mutant whose piece of code is not in its file any more fails the run too, naming itself: the
code moved, so the list below needs updating (each entry is a file, the text it replaces, the
replacement and the tests to run). The original bytes of every mutated file are written to
``.mutants/`` before the edit and restored from there after each mutant, on Ctrl-C and on
SIGTERM, and at the start of the next run if this one was killed outright: restoring does not
depend on git.

    python scripts/mutants.py [--list] [NAME ...]
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parents[1]
JOURNAL = REPO / ".mutants"
PLATFORM = "infra/src/c2c_infra/platform.py"
LAKE_BYPASS = '"bypass": ["AzureServices", "Logging", "Metrics"],'
WORKSPACE = "infra/src/c2c_infra/workspace.py"
FACTORY = "adf_pipelines/src/c2c_adf/factory.py"
# The property tests only: checkov, the cdktn CLI and the synth's own tests cost minutes and
# guard other things.
INFRA_TESTS = tuple(
    f"tests/infra/test_{name}.py"
    for name in (
        "access",
        "hardening",
        "network",
        "protection",
        "retention",
        "security",
        "workspace",
        "dashboard",
    )
)
ADF_TESTS = ("tests/adf_pipelines/test_objects.py", "tests/adf_pipelines/test_hardening.py")
REFRESH_TESTS = (*ADF_TESTS, "tests/adf_pipelines/test_powerbi_refresh.py")
# pytest's exit code when tests ran and some failed; anything else (a collection error, an
# interruption, a usage error) is not a kill.
TESTS_FAILED = 1


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "lake firewall allows by default",
        PLATFORM,
        '"default_action": "Deny",\n                ' + LAKE_BYPASS,
        '"default_action": "Allow",\n                ' + LAKE_BYPASS,
        INFRA_TESTS,
    ),
    Mutant(
        "lake firewall admits any address",
        PLATFORM,
        LAKE_BYPASS,
        LAKE_BYPASS + '\n                "ip_rules": ["0.0.0.0/0"],',
        INFRA_TESTS,
    ),
    Mutant(
        "key vault firewall allows by default",
        PLATFORM,
        '"default_action": "Deny",\n                "bypass": "AzureServices",',
        '"default_action": "Allow",\n                "bypass": "AzureServices",',
        INFRA_TESTS,
    ),
    Mutant(
        "key vault without purge protection",
        PLATFORM,
        "purge_protection_enabled=True,",
        "purge_protection_enabled=False,",
        INFRA_TESTS,
    ),
    Mutant(
        "lake public network access on in prod",
        PLATFORM,
        "public_network_access_enabled=not cfg.private_endpoints,\n"
        "            cross_tenant_replication_enabled=False,",
        "public_network_access_enabled=True,\n            cross_tenant_replication_enabled=False,",
        INFRA_TESTS,
    ),
    Mutant(
        "lake shared keys on",
        PLATFORM,
        "shared_access_key_enabled=False,",
        "shared_access_key_enabled=True,",
        INFRA_TESTS,
    ),
    Mutant(
        "wheels deleted after a day",
        PLATFORM,
        '"tier_to_cool_after_days_since_modification_greater_than": (\n'
        "                                ARTIFACTS_COOL_AFTER_DAYS\n"
        "                            )",
        '"tier_to_cool_after_days_since_modification_greater_than": (\n'
        "                                ARTIFACTS_COOL_AFTER_DAYS\n"
        "                            ),\n"
        '                            "delete_after_days_since_modification_greater_than": 1',
        INFRA_TESTS,
    ),
    Mutant(
        "data factory reachable from the internet",
        PLATFORM,
        "public_network_enabled=False,",
        "public_network_enabled=True,",
        INFRA_TESTS,
    ),
    Mutant(
        "data factory writes the whole lake",
        PLATFORM,
        "BLOB_DATA_CONTRIBUTOR, self.containers[LANDING].id, factory)",
        "BLOB_DATA_CONTRIBUTOR, self.storage.id, factory)",
        INFRA_TESTS,
    ),
    Mutant(
        "databricks clusters get public IPs",
        PLATFORM,
        '"no_public_ip": True,',
        '"no_public_ip": False,',
        INFRA_TESTS,
    ),
    Mutant(
        "landing location writable from databricks",
        WORKSPACE,
        "read_only=container == LANDING,",
        "read_only=False,",
        INFRA_TESTS,
    ),
    Mutant(
        "job cluster without a unity catalog access mode",
        WORKSPACE,
        '"data_security_mode": "SINGLE_USER",\n                        "policy_id"',
        '"data_security_mode": "NONE",\n                        "policy_id"',
        INFRA_TESTS,
    ),
    Mutant(
        "analysts granted modify on gold",
        WORKSPACE,
        'grants.append(grant(analysts, "USE_SCHEMA", "SELECT"))',
        'grants.append(grant(analysts, "USE_SCHEMA", "SELECT", "MODIFY"))',
        INFRA_TESTS,
    ),
    Mutant(
        "engineers write in prod",
        WORKSPACE,
        "builds = not cfg.protected",
        "builds = True",
        INFRA_TESTS,
    ),
    Mutant(
        "personal access tokens on in prod",
        WORKSPACE,
        '{"enableTokensConfig": "false"}',
        '{"enableTokensConfig": "true"}',
        INFRA_TESTS,
    ),
    Mutant(
        "lake containers readable anonymously",
        PLATFORM,
        'container_access_type="private",',
        'container_access_type="blob",',
        INFRA_TESTS,
    ),
    Mutant(
        "cluster policy lets a cluster choose its access mode",
        WORKSPACE,
        '"data_security_mode": {"type": "fixed", "value": "SINGLE_USER"},',
        '"data_security_mode": {"type": "unlimited", "defaultValue": "SINGLE_USER"},',
        INFRA_TESTS,
    ),
    Mutant(
        "workspace network rules not required",
        PLATFORM,
        'network_security_group_rules_required="AllRules",',
        'network_security_group_rules_required="NoAzureDatabricksRules",',
        INFRA_TESTS,
    ),
    Mutant(
        "event trigger fires on every landing file",
        FACTORY,
        'blob_path_begins_with=f"/landing/blobs/{DROPS_FOLDER}/",',
        'blob_path_begins_with="/landing/blobs/",',
        ADF_TESTS,
    ),
    Mutant(
        "webhook calls show their input in monitoring",
        FACTORY,
        "secure_input=secret,",
        "secure_input=False,",
        ADF_TESTS,
    ),
    Mutant(
        "webhook calls show their output in monitoring",
        FACTORY,
        "secure_output=secret,",
        "secure_output=False,",
        ADF_TESTS,
    ),
    Mutant(
        "databricks linked service signs in with a token",
        FACTORY,
        'authentication="MSI",\n                workspace_resource_id=cfg.workspace_resource_id,',
        'authentication="AccessToken",\n'
        "                workspace_resource_id=cfg.workspace_resource_id,",
        ADF_TESTS,
    ),
    Mutant(
        "lake linked service on the default runtime",
        FACTORY,
        'managed identity",\n                connect_via=runtime(),\n            )\n'
        "        ),\n        LS_SOURCE",
        'managed identity",\n                connect_via=None,\n            )\n'
        "        ),\n        LS_SOURCE",
        ADF_TESTS,
    ),
    Mutant(
        "power bi refreshed after a failed transform",
        FACTORY,
        'depends_on=[after("EP_Transform", "Succeeded")],\n            method="GET"',
        'depends_on=[after("EP_Transform", "Completed")],\n            method="GET"',
        REFRESH_TESTS,
    ),
    Mutant(
        "power bi refresh failure not notified",
        FACTORY,
        'last = "IF_GoldBuilt" if refresh else "EP_Transform"',
        'last = "EP_Transform"',
        REFRESH_TESTS,
    ),
    Mutant(
        "power bi refreshed before the first gold",
        FACTORY,
        'value=f"@equals({gold_exists}, true)"',
        'value=f"@equals({gold_exists}, {gold_exists})"',
        REFRESH_TESTS,
    ),
    Mutant(
        "power bi refresh that failed inside power bi passes",
        FACTORY,
        "value=\"@equals(variables('refreshStatus'), 'Completed')\"",
        "value=\"@not(equals(variables('refreshStatus'), 'Unknown'))\"",
        REFRESH_TESTS,
    ),
    Mutant(
        "power bi refreshes whichever model comes first",
        FACTORY,
        "value=f\"@equals(item().name, '{POWERBI_MODEL}')\"",
        'value="@not(empty(item().name))"',
        REFRESH_TESTS,
    ),
)


class Interrupted(Exception):
    pass


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(f"signal {signum}")


def backup_of(path: Path) -> Path:
    return JOURNAL / path.relative_to(REPO)


def restore_journal() -> list[Path]:
    """Put back every file a killed run left mutated, then forget the journal."""
    restored = []
    if JOURNAL.is_dir():
        for saved in sorted(p for p in JOURNAL.rglob("*") if p.is_file()):
            target = REPO / saved.relative_to(JOURNAL)
            target.write_bytes(saved.read_bytes())
            restored.append(target)
        shutil.rmtree(JOURNAL)
    return restored


def mutate(mutant: Mutant) -> tuple[Path, bytes]:
    """Apply a mutant: (its file, the file's original bytes, kept in the journal)."""
    path = REPO / mutant.path
    original = path.read_bytes()
    text = original.decode()
    found = text.count(mutant.old)
    if found != 1:
        raise LookupError(
            f"mutant {mutant.name!r}: its code is in {mutant.path} {found} times, not once; "
            "update scripts/mutants.py to the code as it is now"
        )
    saved = backup_of(path)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_bytes(original)
    path.write_text(text.replace(mutant.old, mutant.new))
    return path, original


def run_tests(tests: tuple[str, ...], timeout: float) -> tuple[int, str]:
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    done = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    return done.returncode, done.stdout


def first_failure(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return lines[0] if lines else output.strip().splitlines()[-1] if output.strip() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("names", nargs="*", help="run only these mutants (default: all)")
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per test run")
    args = parser.parse_args(argv)
    if args.list:
        for mutant in MUTANTS:
            print(f"{mutant.name} ({mutant.path})")
        return 0
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        parser.error(f"no mutant is named {sorted(unknown)}")
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    for left in restore_journal():
        print(f"restored {left.relative_to(REPO)}, left mutated by a run that was killed")
    signal.signal(signal.SIGTERM, _on_sigterm)

    # The tests must pass on the tree as it is, or every mutant would look killed.
    suites = sorted({m.tests for m in chosen})
    for tests in suites:
        code, output = run_tests(tests, args.timeout)
        if code != 0:
            print(f"the tests fail without any mutant ({' '.join(tests)}):\n{output[-3000:]}")
            return 1

    survived: list[str] = []
    broken: list[str] = []
    for mutant in chosen:
        start = time.perf_counter()
        path: Path | None = None
        try:
            path, original = mutate(mutant)
            code, output = run_tests(mutant.tests, args.timeout)
        except LookupError as stale:
            broken.append(str(stale))
            print(f"STALE    {mutant.name}")
            continue
        finally:
            if path is not None:
                path.write_bytes(original)
                restore_journal()
        seconds = time.perf_counter() - start
        if code == TESTS_FAILED:
            print(f"killed   {mutant.name} ({seconds:.0f} s): {first_failure(output)}")
        elif code == 0:
            survived.append(mutant.name)
            print(f"SURVIVED {mutant.name} ({seconds:.0f} s): every test passed")
        else:
            broken.append(f"mutant {mutant.name!r}: pytest exited {code}:\n{output[-2000:]}")
            print(f"ERROR    {mutant.name} ({seconds:.0f} s): pytest exited {code}")
    killed = len(chosen) - len(survived) - len(broken)
    print(f"{killed} of {len(chosen)} mutants killed")
    for problem in broken:
        print(problem)
    return 0 if killed == len(chosen) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, Interrupted):
        restore_journal()
        print("interrupted: every mutated file is restored")
        sys.exit(130)
