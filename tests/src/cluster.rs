//! Database clusters of the tests' own, for the scale-out drills: a three-node MariaDB
//! Galera cluster and a PostgreSQL primary with a synchronous standby, each on its own
//! ports and in its own data folder (never the machine's servers on 3306 and 5432),
//! started by the test that needs it and torn down when it is dropped.
//!
//! A machine without the engines (galera-4 and `mariadbd`, the PostgreSQL 15 server
//! binaries) skips the drills with one loud line; with `INVENTORY_REQUIRE_DATABASE=1`
//! (CI) it fails them instead.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The Galera provider Debian's `galera-4` installs.
pub const GALERA_PROVIDER: &str = "/usr/lib/galera/libgalera_smm.so";
/// The PostgreSQL 15 server binaries Debian installs.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// Client ports of the Galera nodes (3307-3309).
pub const GALERA_PORTS: [u16; 3] = [3307, 3308, 3309];
/// Group communication ports of the Galera nodes; each node also uses the next two
/// (incremental state transfer, rsync state transfer).
const GALERA_GROUP_PORTS: [u16; 3] = [4567, 4577, 4587];
/// Ports of the PostgreSQL primary and standby.
pub const PG_PRIMARY_PORT: u16 = 5434;
/// See [`PG_PRIMARY_PORT`].
pub const PG_STANDBY_PORT: u16 = 5433;

/// Whether the drill for `engine` may run: `Err(what is missing)` otherwise, after
/// one loud line, unless `INVENTORY_REQUIRE_DATABASE=1`, which makes it a failure.
///
/// # Panics
///
/// When something is missing and `INVENTORY_REQUIRE_DATABASE=1`.
pub fn require(engine: &str, needs: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = needs
        .iter()
        .copied()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let message = format!(
        "SKIPPING the {engine} drill: {} not installed",
        missing.join(", ")
    );
    assert!(
        !crate::scratch::required(),
        "INVENTORY_REQUIRE_DATABASE=1 but {message}"
    );
    crate::loud(&message);
    Err(message)
}

/// Whether the tests run as root (the servers then run as their own users).
fn is_root() -> bool {
    static ROOT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ROOT.get_or_init(|| {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
    })
}

/// Runs `program` (as `user` when the tests run as root), panicking with its output
/// when it fails.
fn run_as(user: &str, program: &str, args: &[&str]) -> String {
    let mut command = if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", user, "--", program]);
        command
    } else {
        Command::new(program)
    };
    let out = command
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {program}: {error}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {args:?} failed: {text}");
    text
}

/// Kills, with SIGKILL, every process whose command line names `marker` (a run that
/// died before tearing its cluster down).
fn kill_leftovers(marker: &str) {
    let _ = Command::new("pkill").args(["-9", "-f", marker]).status();
    sleep(Duration::from_millis(300));
}

/// Panics when something listens on `port` of 127.0.0.1: a server that is not the
/// drill's would answer in its place.
fn assert_port_free(port: u16) {
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "port {port} is taken by a server that is not this drill's: stop it first"
    );
}

fn signal(pid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// A fresh, empty folder for a cluster, readable by `user` when the tests run as root.
fn fresh_folder(name: &str, user: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create the cluster folder");
    if is_root() {
        let status = Command::new("chown")
            .args([&format!("{user}:"), dir.to_str().expect("utf-8 path")])
            .status()
            .expect("chown");
        assert!(status.success(), "chown {user} {}", dir.display());
    }
    dir
}

/// Polls `ready` every 100 ms until it is true or `limit` passes.
fn wait_until(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "{what} not within {limit:?}");
        sleep(Duration::from_millis(100));
    }
}

/// A three-node MariaDB Galera cluster on 127.0.0.1:3307-3309.
#[derive(Debug)]
pub struct Galera {
    dir: PathBuf,
    nodes: Vec<Option<Child>>,
}

const GALERA_MARKER: &str = "inventory-drill-galera";

impl Galera {
    /// Whether the cluster can be built here (see [`require`]).
    ///
    /// # Errors
    ///
    /// What is missing.
    pub fn available() -> Result<(), String> {
        require(
            "Galera",
            &[
                GALERA_PROVIDER,
                "/usr/sbin/mariadbd",
                "/usr/bin/mariadb-install-db",
                "/usr/bin/mariadb",
                "/usr/bin/rsync",
            ],
        )
    }

    /// Builds the cluster: node 1 bootstraps it (`--wsrep-new-cluster`), nodes 2 and 3
    /// join one after another by state transfer. About 10-15 s.
    ///
    /// # Panics
    ///
    /// When a node does not come up; its error log is in the panic message.
    pub fn start() -> Self {
        kill_leftovers(GALERA_MARKER);
        for port in GALERA_PORTS.into_iter().chain(GALERA_GROUP_PORTS) {
            assert_port_free(port);
        }
        let dir = fresh_folder(GALERA_MARKER, "mysql");
        for node in 0..3 {
            let home = dir.join(format!("n{node}"));
            fs::create_dir_all(home.join("data")).expect("node folder");
            fs::write(dir.join(format!("n{node}.cnf")), Self::config(&dir, node))
                .expect("node config");
        }
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "mysql:", dir.to_str().expect("utf-8 path")])
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let first = dir.join("n0/data");
        let mut install = Command::new("mariadb-install-db");
        install.args([
            "--no-defaults",
            &format!("--datadir={}", first.display()),
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]);
        if is_root() {
            install.arg("--user=mysql");
        }
        let out = install.output().expect("run mariadb-install-db");
        assert!(
            out.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut cluster = Self {
            dir,
            nodes: vec![None, None, None],
        };
        cluster.launch(0, true);
        cluster.launch(1, false);
        cluster.launch(2, false);
        cluster
    }

    fn config(dir: &Path, node: usize) -> String {
        let home = dir.join(format!("n{node}"));
        let group = GALERA_GROUP_PORTS[node];
        let addresses: Vec<String> = GALERA_GROUP_PORTS
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        let user = if is_root() { "user=mysql\n" } else { "" };
        format!(
            "[mariadbd]\n{user}datadir={data}\nsocket={home}/sock\nport={port}\n\
             bind-address=127.0.0.1\npid-file={home}/pid\nlog-error={home}/err.log\n\
             skip-log-bin\nbinlog_format=ROW\ninnodb_autoinc_lock_mode=2\n\
             default_storage_engine=InnoDB\ninnodb_buffer_pool_size=64M\n\
             innodb_log_file_size=32M\nmax_connections=300\n\
             wsrep_on=ON\nwsrep_provider={GALERA_PROVIDER}\nwsrep_cluster_name=drill\n\
             wsrep_cluster_address=gcomm://{addresses}\n\
             wsrep_node_address=127.0.0.1:{group}\nwsrep_node_name=n{node}\n\
             wsrep_provider_options=\"base_port={group};gmcast.listen_addr=tcp://127.0.0.1:{group};\
             ist.recv_addr=127.0.0.1:{ist}\"\n\
             wsrep_sst_method=rsync\nwsrep_sst_receive_address=127.0.0.1:{sst}\n",
            data = home.join("data").display(),
            home = home.display(),
            port = GALERA_PORTS[node],
            addresses = addresses.join(","),
            ist = group + 1,
            sst = group + 2,
        )
    }

    /// Starts node `node` (0-based) and waits until it is synced (`wsrep_ready`).
    fn launch(&mut self, node: usize, bootstrap: bool) {
        let mut command = Command::new("/usr/sbin/mariadbd");
        command.arg(format!(
            "--defaults-file={}",
            self.dir.join(format!("n{node}.cnf")).display()
        ));
        if bootstrap {
            command.arg("--wsrep-new-cluster");
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        self.nodes[node] = Some(child);
        let log = self.dir.join(format!("n{node}/err.log"));
        let port = GALERA_PORTS[node];
        let start = Instant::now();
        while Self::status(port, "wsrep_ready").as_deref() != Some("ON") {
            let exited = self.nodes[node]
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if exited.is_some() || start.elapsed() > Duration::from_secs(90) {
                let tail = fs::read_to_string(&log).unwrap_or_default();
                let tail: Vec<&str> = tail.lines().rev().take(30).collect();
                panic!(
                    "Galera node {} not ready within 90 s ({exited:?}); its log ends:\n{}",
                    node + 1,
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                );
            }
            sleep(Duration::from_millis(100));
        }
    }

    /// A `SHOW STATUS` value of the node on `port`, `None` when it does not answer.
    pub fn status(port: u16, name: &str) -> Option<String> {
        let out = Command::new("mariadb")
            .args([
                "-h127.0.0.1",
                &format!("-P{port}"),
                "-uroot",
                "-N",
                "-e",
                &format!("SHOW STATUS LIKE '{name}'"),
            ])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace().nth(1).map(str::to_owned)
    }

    /// The cluster size node `node` sees.
    pub fn size_seen_by(&self, node: usize) -> Option<usize> {
        Self::status(GALERA_PORTS[node], "wsrep_cluster_size")?
            .parse()
            .ok()
    }

    /// A URL naming the nodes in `order` (0-based), with no database.
    pub fn url(order: &[usize]) -> String {
        let hosts: Vec<String> = order
            .iter()
            .map(|&node| format!("127.0.0.1:{}", GALERA_PORTS[node]))
            .collect();
        format!("mysql://root@{}", hosts.join(","))
    }

    /// Kills node `node` with SIGKILL.
    pub fn kill(&mut self, node: usize) {
        if let Some(mut child) = self.nodes[node].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Restarts a killed node; it rejoins (by incremental state transfer when the
    /// others still hold what it missed). Returns how long it took to be synced.
    pub fn restart(&mut self, node: usize) -> Duration {
        let start = Instant::now();
        self.launch(node, false);
        start.elapsed()
    }

    /// Makes new sessions on every node read causally (`wsrep_sync_wait = 1`): a read
    /// waits until the node has applied everything the cluster committed before it.
    /// Without it a node answers from what it has applied so far.
    pub fn causal_reads(&self) {
        for port in GALERA_PORTS {
            let status = Command::new("mariadb")
                .args([
                    "-h127.0.0.1",
                    &format!("-P{port}"),
                    "-uroot",
                    "-e",
                    "SET GLOBAL wsrep_sync_wait = 1",
                ])
                .status()
                .expect("run mariadb");
            assert!(status.success(), "SET GLOBAL wsrep_sync_wait on {port}");
        }
    }

    /// Waits until every node sees a cluster of three.
    pub fn wait_whole(&self) {
        wait_until("a Galera cluster of 3", Duration::from_secs(60), || {
            (0..3).all(|node| self.size_seen_by(node) == Some(3))
        });
    }
}

impl Drop for Galera {
    fn drop(&mut self) {
        for node in 0..self.nodes.len() {
            self.kill(node);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A PostgreSQL 15 primary (127.0.0.1:5434) with one synchronous standby
/// (127.0.0.1:5433, `application_name=standby1`, `synchronous_commit=remote_apply`):
/// a commit is acknowledged only once the standby has applied it.
#[derive(Debug)]
pub struct PgPair {
    dir: PathBuf,
}

const PG_MARKER: &str = "inventory-drill-pg";

impl PgPair {
    /// Whether the pair can be built here (see [`require`]).
    ///
    /// # Errors
    ///
    /// What is missing.
    pub fn available() -> Result<(), String> {
        require(
            "PostgreSQL failover",
            &[
                &format!("{PG_BIN}/initdb"),
                &format!("{PG_BIN}/pg_ctl"),
                &format!("{PG_BIN}/pg_basebackup"),
                "/usr/bin/psql",
            ],
        )
    }

    /// Builds the pair (about 2 s): `initdb`, the primary started, the standby cloned
    /// with `pg_basebackup -R -X stream -C -S`, started, and waited for until the
    /// primary reports it `sync`.
    ///
    /// # Panics
    ///
    /// When a step fails.
    pub fn start() -> Self {
        kill_leftovers(PG_MARKER);
        assert_port_free(PG_PRIMARY_PORT);
        assert_port_free(PG_STANDBY_PORT);
        let dir = fresh_folder(PG_MARKER, "postgres");
        let pair = Self { dir };
        let primary = pair.data("primary");
        run_as(
            "postgres",
            &format!("{PG_BIN}/initdb"),
            &[
                "-D",
                &primary,
                "--auth=trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let settings = format!(
            "\nport = {PG_PRIMARY_PORT}\nlisten_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{dir}'\n\
             synchronous_standby_names = 'FIRST 1 (standby1)'\n\
             synchronous_commit = remote_apply\nwal_level = replica\n\
             max_wal_senders = 4\nmax_replication_slots = 4\nmax_connections = 100\n",
            dir = pair.dir.display()
        );
        append(&format!("{primary}/postgresql.conf"), &settings);
        append(
            &format!("{primary}/pg_hba.conf"),
            "\nhost replication all 127.0.0.1/32 trust\n",
        );
        pair.pg_ctl("primary", &["-w", "start"]);
        let standby = pair.data("standby");
        run_as(
            "postgres",
            &format!("{PG_BIN}/pg_basebackup"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &PG_PRIMARY_PORT.to_string(),
                "-U",
                "postgres",
                "-D",
                &standby,
                "-R",
                "-X",
                "stream",
                "-C",
                "-S",
                "standby1",
                "-d",
                "application_name=standby1",
            ],
        );
        // Promoted, the standby is a lone primary: with the primary's synchronous
        // standby names it would wait for ever for a standby that is gone (what an
        // orchestrator clears when it promotes).
        append(
            &format!("{standby}/postgresql.conf"),
            &format!("\nport = {PG_STANDBY_PORT}\nsynchronous_standby_names = ''\n"),
        );
        pair.start_standby();
        pair
    }

    fn data(&self, node: &str) -> String {
        self.dir.join(node).display().to_string()
    }

    fn pg_ctl(&self, node: &str, args: &[&str]) -> String {
        let data = self.data(node);
        let log = self.dir.join(format!("{node}.log")).display().to_string();
        let mut all = vec!["-D", &data, "-l", &log];
        all.extend_from_slice(args);
        run_as("postgres", &format!("{PG_BIN}/pg_ctl"), &all)
    }

    /// The primary-then-standby URL a store is given.
    pub fn url() -> String {
        format!(
            "postgres://postgres@127.0.0.1:{PG_PRIMARY_PORT},127.0.0.1:{PG_STANDBY_PORT}/postgres?sslmode=disable"
        )
    }

    /// The postmaster's process id of `node`, from its `postmaster.pid`.
    fn postmaster(&self, node: &str) -> Option<u32> {
        let pid = fs::read_to_string(self.dir.join(node).join("postmaster.pid")).ok()?;
        pid.lines().next()?.trim().parse().ok()
    }

    /// Kills the primary's postmaster and all its children with SIGKILL (stopped
    /// first, so that it restarts none of them).
    pub fn kill_primary(&self) {
        let pid = self.postmaster("primary").expect("the primary runs");
        signal(pid, "-STOP");
        let _ = Command::new("pkill")
            .args(["-9", "-P", &pid.to_string()])
            .status();
        signal(pid, "-KILL");
        wait_until("the primary gone", Duration::from_secs(10), || {
            !Path::new(&format!("/proc/{pid}")).exists()
                || fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|stat| stat.contains(") Z "))
        });
    }

    /// Stops the standby at once (`-m immediate`), so that the primary's commits wait.
    pub fn stop_standby(&self) {
        self.pg_ctl("standby", &["-m", "immediate", "stop"]);
    }

    /// Starts the stopped standby again and waits until the primary reports it `sync`.
    pub fn start_standby(&self) {
        self.pg_ctl("standby", &["-w", "start"]);
        wait_until("the standby in sync", Duration::from_secs(30), || {
            psql(
                PG_PRIMARY_PORT,
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'",
            )
            .as_deref()
                == Some("sync")
        });
    }

    /// Promotes the standby to primary and waits until it takes writes.
    pub fn promote(&self) {
        self.pg_ctl("standby", &["-w", "promote"]);
    }
}

impl Drop for PgPair {
    fn drop(&mut self) {
        for node in ["primary", "standby"] {
            if let Some(pid) = self.postmaster(node) {
                signal(pid, "-CONT");
                let _ = Command::new("pkill")
                    .args(["-9", "-P", &pid.to_string()])
                    .status();
                signal(pid, "-KILL");
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn append(path: &str, text: &str) {
    use std::io::Write;
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|error| panic!("open {path}: {error}"));
    file.write_all(text.as_bytes()).expect("append");
}

/// One value `sql` returns on the server on `port`, `None` when it fails.
pub fn psql(port: u16, sql: &str) -> Option<String> {
    let out = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-Atc",
            sql,
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
