"""Spark services the cluster tests start from the pip-installed Spark (``pyspark/bin``): a
standalone master with two workers, and a Spark Connect service in the test session's JVM, all
on loopback.

Every process runs in its own process group (a worker's executors are its children, a
spark-submit's Python driver is the JVM's child) and the whole group is stopped when the test
ends, however it ends.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyspark
import pytest

from c2c_etl.spark import driver_java_options

SPARK_HOME = Path(pyspark.__file__).resolve().parent
SPARK_CLASS = SPARK_HOME / "bin" / "spark-class"
SPARK_SUBMIT = SPARK_HOME / "bin" / "spark-submit"
LOOPBACK = "127.0.0.1"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# The machine is shared and small (2 cores): JVM start-up alone can take half a minute.
START_TIMEOUT = 180.0
# The Java options of the JVMs a test starts with spark-submit for a run or two (a driver,
# executors): those the pipeline's local session takes for a short run.
SHORT_RUN_JAVA_OPTIONS = driver_java_options(0)
# Variables of this process that would change what a started Spark process does: pyspark's
# own launcher and Spark Connect mode switches.
NOT_INHERITED = (
    "PYSPARK_GATEWAY_PORT",
    "PYSPARK_GATEWAY_SECRET",
    "PYSPARK_SUBMIT_ARGS",
    "SPARK_REMOTE",
    "SPARK_CONNECT_MODE_ENABLED",
    "SPARK_LOCAL_REMOTE",
)


def free_port() -> int:
    """A port free on loopback right now (the OS picks it)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def spark_env(**extra: str) -> dict[str, str]:
    """The environment of a started Spark process: loopback only, and this virtual
    environment's Python for drivers and executors alike."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env.update(
        SPARK_HOME=str(SPARK_HOME),
        SPARK_LOCAL_IP=LOOPBACK,
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        **extra,
    )
    return env


def _stop_with_this_process() -> None:
    """In the child before exec (Linux): SIGTERM it when the test process dies, even killed
    without its clean-up (SIGKILL, a CI timeout); a JVM's shutdown hook then stops the rest."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def log_tail(path: Path, chars: int = 6000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-chars:]


def stop(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM the process's group, then SIGKILL whatever of the group is left."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    with suppress(ProcessLookupError):  # the group is empty when all of it stopped in time
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextmanager
def started(
    command: list[str], log: Path, env: Mapping[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` running in its own process group, output to ``log``; stopped on exit."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env),
            start_new_session=True,
            preexec_fn=_stop_with_this_process,
        )
        try:
            yield process
        finally:
            stop(process)


@dataclass(frozen=True)
class Finished:
    returncode: int
    output: str  # stdout and stderr, interleaved


def run_to_end(
    command: list[str], log: Path, env: Mapping[str, str], timeout: float = 600.0
) -> Finished:
    """Run ``command`` to its end (its process group is killed after ``timeout`` seconds)."""
    with started(command, log, env) as process:
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{command[0]} still running after {timeout:.0f} s:\n{log_tail(log)}")
    return Finished(returncode, log.read_text(errors="replace"))


def wait_until(
    done: Callable[[], bool], what: str, watched: Mapping[Path, subprocess.Popen[bytes]]
) -> None:
    """Poll ``done`` until it holds; fail at once if a watched process died meanwhile."""
    deadline = time.monotonic() + START_TIMEOUT
    while not done():
        for log, process in watched.items():
            if process.poll() is not None:
                pytest.fail(f"{log.stem} exited ({process.returncode}):\n{log_tail(log)}")
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {log.stem}\n{log_tail(log, 2000)}" for log in watched)
            pytest.fail(f"no {what} after {START_TIMEOUT:.0f} s\n{logs}")
        time.sleep(0.5)


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((LOOPBACK, port)) == 0


def web_json(url: str) -> dict[str, Any] | None:
    """A Spark web UI's JSON state, None while it does not answer yet."""
    try:
        with urllib.request.urlopen(f"{url}/json/", timeout=5) as response:
            return dict(json.load(response))
    except OSError:
        return None


@dataclass(frozen=True)
class StandaloneCluster:
    url: str  # spark://127.0.0.1:<port>, for spark-submit --master
    web_url: str  # the master's web UI
    worker_web_urls: tuple[str, ...]

    def state(self) -> dict[str, Any]:
        """The master's view: workers, aliveworkers, activeapps, completedapps."""
        return web_json(self.web_url) or {}

    def worker_states(self) -> list[dict[str, Any]]:
        """Each worker's view: its executors and finishedexecutors."""
        return [web_json(url) or {} for url in self.worker_web_urls]


@contextmanager
def standalone_cluster(folder: Path, workers: int = 2) -> Iterator[StandaloneCluster]:
    """A standalone master and ``workers`` workers of one core and 1 GB each, on loopback;
    ready when the master counts every worker alive."""
    port, web_port = free_port(), free_port()
    url, web_url = f"spark://{LOOPBACK}:{port}", f"http://{LOOPBACK}:{web_port}"
    env = spark_env(SPARK_DAEMON_MEMORY="512m")
    watched: dict[Path, subprocess.Popen[bytes]] = {}
    with ExitStack() as stack:
        master_log = folder / "master.log"
        master = [str(SPARK_CLASS), "org.apache.spark.deploy.master.Master"]
        master += ["--host", LOOPBACK, "--port", str(port), "--webui-port", str(web_port)]
        watched[master_log] = stack.enter_context(started(master, master_log, env))
        worker_web_urls = []
        for n in range(1, workers + 1):
            worker_web = free_port()
            work_dir = folder / f"worker-{n}"
            work_dir.mkdir(parents=True)
            worker = [str(SPARK_CLASS), "org.apache.spark.deploy.worker.Worker"]
            worker += ["--host", LOOPBACK, "--webui-port", str(worker_web)]
            worker += ["--cores", "1", "--memory", "1g", "--work-dir", str(work_dir), url]
            log = folder / f"worker-{n}.log"
            watched[log] = stack.enter_context(started(worker, log, env))
            worker_web_urls.append(f"http://{LOOPBACK}:{worker_web}")
        cluster = StandaloneCluster(url, web_url, tuple(worker_web_urls))
        wait_until(
            lambda: cluster.state().get("aliveworkers") == workers,
            f"{workers} alive workers at the master",
            watched,
        )
        yield cluster


@contextmanager
def connect_service(spark: Any) -> Iterator[str]:
    """A Spark Connect service on a loopback port, served by ``spark``'s own JVM (pyspark ships
    Spark Connect's server jar); yields its ``sc://`` URL once it listens, and stops it after.

    The clients' plans run in a JVM that has Delta's jars and the local run's settings, already
    compiled by the session's earlier tests: a server of its own would spend the run warming
    up. A client still has nothing but its Spark Connect session.
    """
    port = free_port()
    jvm = spark._jvm
    # The service reads its address from the running context's configuration when it starts.
    conf = jvm.org.apache.spark.SparkEnv.get().conf()
    conf.set("spark.connect.grpc.binding.address", LOOPBACK)
    conf.set("spark.connect.grpc.binding.port", str(port))
    service = jvm.org.apache.spark.sql.connect.service.SparkConnectService
    service.start(spark.sparkContext._jsc.sc())
    try:
        wait_until(lambda: listening(port), "Spark Connect service listening", {})
        yield f"sc://{LOOPBACK}:{port}"
    finally:
        service.stop(jvm.scala.Option.empty(), jvm.scala.Option.empty())
