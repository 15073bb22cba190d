"""Log headers told from messages by the shapes of their fields: real headers from the loghub
samples, common formats that are not in them, lines without a header, and the time they state."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.parsing import logheader
from vigil.parsing.loglines import parse_record
from vigil.parsing.logtime import parse_time

YEAR = 2026


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# line, message, level, component, time (the year of a date without one is YEAR)
SAMPLES = [
    (  # Apache error log
        "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok"
        " /etc/httpd/conf/workers2.properties",
        "workerEnv.init() ok /etc/httpd/conf/workers2.properties",
        "notice", None, at(2005, 12, 4, 4, 47, 44),
    ),
    (  # BGL: label, epoch, date, node, time, node, type, component, level
        "- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 2005-06-03-15.42.50.675872 R02-M1-N0-C:J12-U11"
        " RAS KERNEL INFO instruction cache parity error corrected",
        "instruction cache parity error corrected",
        "info", None, at(2005, 6, 3, 15, 42, 50, 675872),
    ),
    (  # BGL: an alert label and a node that is a word
        "APPREAD 1117869872 2005.06.04 R04-M1-N4-I:J18-U11 2005-06-04-00.24.32.432192"
        " R04-M1-N4-I:J18-U11 RAS APP FATAL ciod: failed to read message prefix on control stream",
        "failed to read message prefix on control stream",
        "critical", "ciod", at(2005, 6, 4, 0, 24, 32, 432192),
    ),
    (
        "- 1117955341 2005.06.05 NULL 2005-06-05-00.09.01.903779 NULL RAS MMCS ERROR idoproxydb hit"
        " ASSERT condition: ASSERT expression=0",
        "idoproxydb hit ASSERT condition: ASSERT expression=0",
        "error", None, at(2005, 6, 5, 0, 9, 1, 903779),
    ),
    (  # HDFS: yymmdd hhmmss pid level component
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block"
        " blk_38865049064139660 terminating",
        "PacketResponder 1 for block blk_38865049064139660 terminating",
        "info", "dfs.DataNode$PacketResponder", at(2008, 11, 9, 20, 36, 15),
    ),
    (  # Hadoop: a thread with spaces in brackets
        "2015-10-18 18:04:20,206 INFO [IPC Server handler 18 on 62270]"
        " org.apache.hadoop.mapred.TaskAttemptListenerImpl: Progress of TaskAttempt"
        " attempt_1445144423722_0020_m_000005_0 is : 0.19247705",
        "Progress of TaskAttempt attempt_1445144423722_0020_m_000005_0 is : 0.19247705",
        "info", "org.apache.hadoop.mapred.TaskAttemptListenerImpl",
        at(2015, 10, 18, 18, 4, 20, 206000),
    ),
    (  # Hadoop: a thread that holds a port
        "2015-10-18 18:06:21,045 WARN [LeaseRenewer:msrabi@msra-sa-41:9000]"
        " org.apache.hadoop.ipc.Client: Address change detected. Old:"
        " msra-sa-41/10.190.173.170:9000",
        "Address change detected. Old: msra-sa-41/10.190.173.170:9000",
        "warning", "org.apache.hadoop.ipc.Client", at(2015, 10, 18, 18, 6, 21, 45000),
    ),
    (  # Linux syslog: a program with parentheses
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0"
        " tty=NODEVssh ruser= rhost=218.188.2.4 ",
        "authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ",
        "error", "sshd(pam_unix)[19939]", at(YEAR, 6, 14, 15, 16, 1),  # "failure": a hint
    ),
    (
        "Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
        "Invalid user webmaster from 173.234.31.186",
        "warning", "sshd[24200]", at(YEAR, 12, 10, 6, 55, 46),  # "invalid": a hint
    ),
    (  # Spark: yy/mm/dd
        "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers"
        " for [TERM, HUP, INT]",
        "Registered signal handlers for [TERM, HUP, INT]",
        "info", "executor.CoarseGrainedExecutorBackend", at(2017, 6, 9, 20, 10, 40),
    ),
    (  # Zookeeper: nested brackets, " - " separators
        "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:"
        "FastLeaderElection@774] - Notification time out: 3200",
        "Notification time out: 3200",
        "info", None, at(2015, 7, 29, 17, 41, 44, 747000),
    ),
    (
        "2015-08-07 07:27:46,402 - INFO  [main:DatadirCleanupManager@79] - autopurge.purgeInterval"
        " set to 0",
        "autopurge.purgeInterval set to 0",
        "info", None, at(2015, 8, 7, 7, 27, 46, 402000),
    ),
    (  # Android: mm-dd, pid, tid, a one-letter level
        "03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogsopening app"
        " wtoken = AppWindowToken{9f4ef63 token=Token{a64f992}}",
        "printFreezingDisplayLogsopening app wtoken = AppWindowToken{9f4ef63 token=Token{a64f992}}",
        "debug", "WindowManager", at(YEAR, 3, 17, 16, 13, 38, 811000),
    ),
    (  # HealthApp: "|" between fields, unpadded clock
        "20171223-23:7:6:86|Step_LSC|30002312|onStandStepChanged 3579",
        "onStandStepChanged 3579",
        None, None, at(2017, 12, 23, 23, 7, 6, 860000),
    ),
    (
        "20171223-22:31:59:725|Step_LSC|30002312|REPORT : 7028 5481 150152 240",
        "REPORT : 7028 5481 150152 240",
        None, None, at(2017, 12, 23, 22, 31, 59, 725000),
    ),
    (  # Mac: a host with digits, a kernel timestamp after the program
        "Jul  1 09:00:55 calvisitor-10-105-160-95 kernel[0]: IOThunderboltSwitch<0>(0x0)::"
        "listenerCallback - Thunderbolt HPD packet for route = 0x0 port = 11 unplug = 0",
        "IOThunderboltSwitch<0>(0x0)::listenerCallback - Thunderbolt HPD packet for route = 0x0"
        " port = 11 unplug = 0",
        None, "kernel[0]", at(YEAR, 7, 1, 9, 0, 55),
    ),
    (  # OpenStack: a file name, a dotted component, a request context in brackets
        "nova-compute.log.1.2017-05-16_13:55:31 2017-05-16 00:11:12.170 2931 INFO"
        " nova.virt.libvirt.driver [-] [instance: a015cf14-84bb-4156-a48d-7c4824ac7a9d] Instance"
        " spawned successfully.",
        "[instance: a015cf14-84bb-4156-a48d-7c4824ac7a9d] Instance spawned successfully.",
        "info", "nova.virt.libvirt.driver", at(2017, 5, 16, 0, 11, 12, 170000),
    ),
]  # fmt: skip

FORMATS = [
    (  # ISO 8601 with a zone, syslog-style host and program
        "2026-11-02T10:11:12.345+01:00 web-1 api[812]: request GET /health took 3 ms",
        "request GET /health took 3 ms", None, at(2026, 11, 2, 9, 11, 12, 345000),
    ),
    (
        "2026-11-02T10:11:12Z INFO starting worker pool size=4",
        "starting worker pool size=4", "info", at(2026, 11, 2, 10, 11, 12),
    ),
    (  # a bracketed time
        "[2026-11-02 10:11:12,345] INFO Starting the scheduler",
        "Starting the scheduler", "info", at(2026, 11, 2, 10, 11, 12, 345000),
    ),
    (
        "[2026-11-02 10:11:12,345] {scheduler_job.py:1274} INFO - Starting the scheduler",
        "Starting the scheduler", "info", at(2026, 11, 2, 10, 11, 12, 345000),
    ),
    (
        "[2026-11-02 10:11:12,345: WARNING/MainProcess] celery@host ready.",
        "celery@host ready.", "warning", at(2026, 11, 2, 10, 11, 12, 345000),
    ),
    (  # nginx / apache access logs (combined format)
        '127.0.0.1 - - [02/Nov/2026:10:11:12 +0000] "GET /index.html HTTP/1.1" 200 612 "-"'
        ' "curl/8.0"',
        '"GET /index.html HTTP/1.1" 200 612 "-" "curl/8.0"', None, at(2026, 11, 2, 10, 11, 12),
    ),
    (
        '10.0.0.7 - frank [02/Nov/2026:10:11:12 -0700] "POST /api/login HTTP/2.0" 401 12',
        '"POST /api/login HTTP/2.0" 401 12', None, at(2026, 11, 2, 17, 11, 12),
    ),
    (  # nginx error log
        '2026/11/02 10:11:12 [error] 1234#1234: *5 open() "/srv/x" failed (2: No such file)',
        '*5 open() "/srv/x" failed (2: No such file)', "error", at(2026, 11, 2, 10, 11, 12),
    ),
    (  # apache 2.4 error log
        "[Mon Nov 02 10:11:12.345678 2026] [core:error] [pid 1234:tid 5678] [client"
        " 10.0.0.1:5555] AH00126: Invalid URI in request",
        "Invalid URI in request", "error", at(2026, 11, 2, 10, 11, 12, 345678),
    ),
    (  # journald's short format and short-iso, a kernel timestamp
        "Nov 02 10:11:12 myhost systemd[1]: Started Session 3 of user alice.",
        "Started Session 3 of user alice.", None, at(YEAR, 11, 2, 10, 11, 12),
    ),
    (
        "Nov  2 10:11:12 myhost kernel: [12345.678901] usb 1-1: new high-speed USB device",
        "usb 1-1: new high-speed USB device", None, at(YEAR, 11, 2, 10, 11, 12),
    ),
    (
        "2026-11-02T10:11:12+0100 myhost sshd[123]: Accepted publickey for alice",
        "Accepted publickey for alice", None, at(2026, 11, 2, 9, 11, 12),
    ),
    (  # syslog with its priority
        "<13>Nov  2 10:11:12 myhost app: hello there", "hello there", "notice",
        at(YEAR, 11, 2, 10, 11, 12),
    ),
    (  # Java: log4j, logback, Spring Boot
        "2026-11-02 10:11:12,345 INFO  [main] com.example.App - Application started in 2.3 s",
        "Application started in 2.3 s", "info", at(2026, 11, 2, 10, 11, 12, 345000),
    ),
    (
        "10:11:12.345 [main] WARN  com.example.App - Pool is nearly exhausted",
        "Pool is nearly exhausted", "warning", None,
    ),
    (
        "2026-11-02 10:11:12.345  INFO 4242 --- [           main] c.e.demo.DemoApplication"
        "                 : Started DemoApplication in 1.2 seconds",
        "Started DemoApplication in 1.2 seconds", "info", at(2026, 11, 2, 10, 11, 12, 345000),
    ),
    (  # Go's log, plain and with Lshortfile
        "2009/11/10 23:00:00 listening on :8080", "listening on :8080", None,
        at(2009, 11, 10, 23),
    ),
    (
        "2009/11/10 23:00:00.123456 server.go:42: listening on :8080", "listening on :8080",
        None, at(2009, 11, 10, 23, 0, 0, 123456),
    ),
    (  # Python's logging: the default format and a common basicConfig one
        "WARNING:root:disk almost full", "disk almost full", "warning", None,
    ),
    (
        "ERROR:vigil.sources.logs:cannot read /var/log/x", "cannot read /var/log/x", "error",
        None,
    ),
    (
        "2026-11-02 10:11:12,345 - vigil.app - INFO - daemon started", "daemon started", "info",
        at(2026, 11, 2, 10, 11, 12, 345000),
    ),
    (  # Kubernetes' klog
        "E1102 10:11:12.345678    1234 reflector.go:138] Failed to watch *v1.Pod",
        "Failed to watch *v1.Pod", "error", at(YEAR, 11, 2, 10, 11, 12, 345678),
    ),
    (  # Ruby's Logger
        'I, [2026-11-02T10:11:12.345678 #1234]  INFO -- : Started GET "/" for 127.0.0.1',
        'Started GET "/" for 127.0.0.1', "info", at(2026, 11, 2, 10, 11, 12, 345678),
    ),
    (  # PostgreSQL, Redis
        "2026-11-02 10:11:12.345 UTC [1234] LOG:  database system is ready to accept connections",
        "database system is ready to accept connections", None,
        at(2026, 11, 2, 10, 11, 12, 345000),
    ),
    (
        "1234:M 02 Nov 2026 10:11:12.345 * Ready to accept connections",
        "* Ready to accept connections", None, at(2026, 11, 2, 10, 11, 12, 345000),
    ),
    (  # NATS: a pid in brackets first, an abbreviated level
        "[2963] 2026/12/04 15:55:29.546723 [INF] Starting nats-server", "Starting nats-server",
        "info", at(2026, 12, 4, 15, 55, 29, 546723),
    ),
    (  # Mosquitto: a Unix time with a colon
        "1796399729: Opening ipv4 listen socket on port 1883.",
        "Opening ipv4 listen socket on port 1883.", None, at(2026, 12, 4, 15, 55, 29),
    ),
    (  # MariaDB: a thread id, the level in brackets, a subsystem
        "2026-12-04 15:55:46 0 [Note] InnoDB: Compressed tables use zlib 1.2.13",
        "Compressed tables use zlib 1.2.13", "notice", at(2026, 12, 4, 15, 55, 46),
    ),
    (
        "2026-12-04 15:55:47 3 [Warning] Aborted connection 3 to db: 'unconnected'",
        "Aborted connection 3 to db: 'unconnected'", "warning", at(2026, 12, 4, 15, 55, 47),
    ),
    (  # RabbitMQ: an Erlang pid after the level
        "2026-12-04 15:55:32.415352+00:00 [info] <0.261.0> ra: meta data store initialised",
        "meta data store initialised", "info", at(2026, 12, 4, 15, 55, 32, 415352),
    ),
    (  # Windows CBS: a level in title case, a comma after the time
        "2016-09-28 04:30:30, Info                  CBS    Loaded Servicing Stack v6.1.7601.23505",
        "CBS    Loaded Servicing Stack v6.1.7601.23505", "info", at(2016, 9, 28, 4, 30, 30),
    ),
]  # fmt: skip

MESSAGES = [  # no header: left whole
    "Failed password for root from 1.2.3.4 port 22 ssh2",
    "cache parity error corrected",
    "instruction cache parity error corrected",
    "BLOCK* NameSystem.addStoredBlock: blockMap updated: 10.251.73.220:50010 is added to blk_7128",
    "Error reading message prefix after LOAD_MESSAGE on CioStream socket to 172.16.96.116:41304",
    "Took 1:23 to finish",
    "May 3 users log in twice",
    "PM 2.5 reading is high",
    "Kind: YARN_AM_RM_TOKEN, Service: , Ident: (appAttemptId { application_id { id: 20 } })",
    "[instance: a015cf14-84bb-4156-a48d-7c4824ac7a9d] Instance spawned successfully.",
    '10.11.10.1 "GET /v2/54fadb412c4e40cdbaed9335e4c35a9e/servers/detail HTTP/1.1" status: 200',
    "reverse mapping checking getaddrinfo for ns.example.com [173.234.31.186] failed - POSSIBLE",
    "  at com.example.App.main(App.java:12)",
    "",
]


@pytest.mark.parametrize(("line", "message", "level", "component", "when"), SAMPLES)
def test_real_headers_from_the_loghub_samples(
    line: str, message: str, level: str | None, component: str | None, when: datetime
) -> None:
    """Each system's header is cut off whole (times, hosts, pids, nodes, threads, levels,
    writers), and its level, writer and time are read."""
    record = parse_record(line, year=YEAR)
    assert record.headline == message
    assert record.level == level
    assert record.component == component
    assert record.time == when


@pytest.mark.parametrize(("line", "message", "level", "when"), FORMATS)
def test_common_formats_that_loghub_does_not_have(
    line: str, message: str, level: str | None, when: datetime | None
) -> None:
    """ISO 8601 with zones, bracketed times, access and error logs, journald, syslog, log4j,
    logback, Spring Boot, Go, Python, klog, Ruby, PostgreSQL, Redis: the header goes, the level
    and the time stay as fields."""
    record = parse_record(line, year=YEAR)
    assert record.headline == message
    assert record.level == level
    assert record.time == when


@pytest.mark.parametrize("line", MESSAGES)
def test_a_line_without_a_time_or_level_in_its_head_is_left_whole(line: str) -> None:
    """A message whose first words look like a header's (a number, a name with a colon, a
    bracket, a separator) keeps them: only a time or a level anchors a header."""
    assert logheader.message_of(line) == line
    assert parse_record(line).head == 0


def test_a_line_inside_json_has_its_header_cut_too() -> None:
    """Docker's JSON lines carry the program's own line: its header is cut and read as well."""
    record = parse_record(
        '{"log": "2026-11-02 10:11:12,345 WARN [main] com.example.Pool: pool nearly full\\n",'
        ' "stream": "stderr"}'
    )
    assert record.headline == "pool nearly full"
    assert record.level == "warning"
    assert record.time == at(2026, 11, 2, 10, 11, 12, 345000)
    assert record.component == "com.example.Pool"


def _redraw(line: str, rnd: random.Random) -> str:
    return "".join(rnd.choice("0123456789") if ch.isdigit() else ch for ch in line)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([s[0] for s in SAMPLES] + [f[0] for f in FORMATS] + MESSAGES),
    st.randoms(use_true_random=False),
)
def test_a_header_splits_alike_whatever_its_digits(line: str, rnd: random.Random) -> None:
    """Lines that differ only in their digits have the same header (the shape cache relies on
    it): a pid, a time or a node id never moves where the message starts."""
    other = _redraw(line, rnd)
    assert logheader._scan(other) == logheader._scan(line)


_PIECES = [
    "2026-02-30", "10:11:12", "Feb", "31/02/26", "<999>", "[", "]", "[x:", "-", "|", ":", "INFO",
    "E1399", "I9999", "081130", "999999", "1117838570", "[error]", "a.b:", "x[1]:", "  ", "\t",
    "\ufffd", "é", "{", "---", "Sun", "PM", "+25:99", "Z", ",", "9999999999999", "W",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_PIECES) | st.text(max_size=6), max_size=14))
def test_any_text_is_read_without_error(pieces: list[str]) -> None:
    """Whatever a line holds (impossible dates, unclosed brackets, odd bytes), it gets a record
    whose message is the end of its first line."""
    line = " ".join(pieces).replace("\n", " ")
    record = parse_record(line, year=YEAR)
    first = line.split("\n", 1)[0]
    assert first.endswith(record.headline)
    assert logheader.message_of(line) == line[logheader.header_end(line) :]


def test_what_varies_in_a_header_never_splits_a_template() -> None:
    """One event logged by different hosts, pids, threads, at different levels and times, in
    different time spellings, is one template; two events stay two."""
    from vigil.app.logsummary import line_templates
    from vigil.parsing.logprofile import HeaderProfile
    from vigil.parsing.templates import TemplateMiner

    lines = [
        "2026-11-02 10:11:12,345 INFO [main] com.example.Pool: connection 17 opened to db-1",
        "2026-11-02 10:11:13,001 WARN [IPC Server handler 5 on 62270] com.example.Pool:"
        " connection 18 opened to db-2",
        "Nov  2 10:11:14 web pool[4242]: connection 19 opened to db-1",
        "Nov 12 10:11:15 db-server-7 pooler[7]: connection 20 opened to db-3",
        "[2026-11-02T10:11:16Z] [error] connection 21 opened to db-1",
        "03-17 16:13:38.811  1702  2395 D Pool: connection 22 opened to db-1",
        "2026-11-02 10:11:17,345 INFO [main] com.example.Pool: connection 23 closed by db-1",
    ]
    found = [t.id for t in line_templates(lines, TemplateMiner(), HeaderProfile())]
    assert len(set(found[:-1])) == 1
    assert found[-1] != found[0]


def test_dates_in_many_spellings() -> None:
    """A header's time is read whatever its spelling; a two-digit year is read nearest the
    caller's; a date without a year takes the caller's year."""
    assert parse_time("17/06/09 20:10:40", 2026) == at(2017, 6, 9, 20, 10, 40)
    assert parse_time("06/09/26 20:10:40", 2026) == at(2026, 6, 9, 20, 10, 40)  # mm/dd/yy
    assert parse_time("31/12/2025 23:59:59", 2026) == at(2025, 12, 31, 23, 59, 59)
    assert parse_time("Sun Dec 04 04:47:44 2005") == at(2005, 12, 4, 4, 47, 44)
    assert parse_time("081109 203615") == at(2008, 11, 9, 20, 36, 15)
    assert parse_time("1117838570") == at(2005, 6, 3, 22, 42, 50)
    assert parse_time("2026-11-02T10:11:12.5-02:30") == at(2026, 11, 2, 12, 41, 12, 500000)
    assert parse_time("Jun 14 15:16:01") == at(1970, 6, 14, 15, 16, 1)
    assert parse_time("10:11:12") is None  # a clock without a date
    assert parse_time("2026-13-45 10:11:12") is None
