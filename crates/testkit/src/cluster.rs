//! A three-node RabbitMQ cluster in Docker containers, driven by the docker
//! CLI, for tests of failover and partitions: nodes can be killed, stopped,
//! started again, and cut off from their peers while clients still reach
//! them.
//!
//! Each cluster has two private bridge networks: on "cluster" the nodes talk
//! to each other (Erlang distribution), on "clients" the host reaches their
//! AMQP port (the host has an interface on every bridge network, so no port
//! is published). Cutting a node off is `docker network disconnect` from the
//! first only.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::{docker, RABBITMQ};

/// How many nodes a cluster has: the fewest where `pause_minority` keeps a
/// majority running when one node is lost.
const NODES: usize = 3;

const AMQP_PORT: u16 = 5672;

/// The line a RabbitMQ node logs once it accepts connections.
const READY_LINE: &str = "Server startup complete";

/// How long the whole cluster may take to form (about 30 s on an idle
/// 2-core machine: the nodes boot one, then two at once).
const FORM_LIMIT: Duration = Duration::from_secs(120);

/// How long a node started again may take to boot and rejoin.
const REJOIN_LIMIT: Duration = Duration::from_secs(120);

/// Erlang's tick time, in seconds: a peer that stops answering is declared
/// down within 0.75 to 1.25 times it (the default, 60 s, is too slow for a
/// test to wait for).
const NET_TICKTIME: u32 = 10;

/// Where each node's generated configuration is mounted (read-only).
const CONFIG_PATH: &str = "/etc/rabbitmq/rabbitmq.conf";
/// Where each node's Erlang resolver file is mounted (read-only).
const INETRC_PATH: &str = "/etc/rabbitmq/testkit-inetrc";

/// A running three-node cluster, removed (containers, volumes, networks,
/// generated files) when dropped, or when the test process exits if it is
/// never dropped (a panic in another thread, an abort).
///
/// Nodes are numbered `0..len()`. Each node `i` is the Erlang node
/// `rabbit@rmq<i>-<suffix>` in the container `testkit-rmq-<suffix>-n<i>`.
pub struct Cluster {
    suffix: String,
    cluster_network: String,
    clients_network: String,
    containers: Vec<String>,
    hosts: Vec<String>,
    config_dir: PathBuf,
    /// Each node's last known address on the clients network: a stopped
    /// node has none, and a failover test still wants to list it.
    addresses: Mutex<Vec<String>>,
}

impl Cluster {
    /// Starts three nodes from the image named by `RABBITMQ_IMAGE` and waits
    /// until they form one cluster (all three running, as node 0 sees it).
    /// Fails the test, with the nodes' logs, if that takes over 120 s.
    pub fn start() -> Cluster {
        let image = RABBITMQ.require();
        let suffix = unique_suffix();
        let cluster = Cluster {
            cluster_network: format!("testkit-rmq-{suffix}-cluster"),
            clients_network: format!("testkit-rmq-{suffix}-clients"),
            containers: (0..NODES)
                .map(|i| format!("testkit-rmq-{suffix}-n{i}"))
                .collect(),
            hosts: (0..NODES).map(|i| format!("rmq{i}-{suffix}")).collect(),
            config_dir: std::env::temp_dir().join(format!("testkit-rmq-{suffix}")),
            addresses: Mutex::new(vec![String::new(); NODES]),
            suffix,
        };
        // Before anything exists, so that nothing outlives an aborted test.
        cluster.remove_at_exit();
        let started = Instant::now();
        if let Err(problem) = cluster.form(&image, started + FORM_LIMIT) {
            let logs = cluster.log_tails();
            drop(cluster);
            panic!(
                "the RabbitMQ cluster did not start: {problem}.\n{logs}\
                 The image is {image}; prepare the test images with \
                 `eval \"$(scripts/test-images)\"`."
            );
        }
        cluster
    }

    /// How many nodes the cluster has (3).
    #[allow(clippy::len_without_is_empty)] // a cluster is never empty
    pub fn len(&self) -> usize {
        NODES
    }

    /// The part of every container's, network's and host's name that is
    /// this cluster's own.
    pub fn suffix(&self) -> &str {
        &self.suffix
    }

    /// `amqp://guest:guest@<address(i)>/%2f`.
    pub fn url(&self, i: usize) -> String {
        format!("amqp://guest:guest@{}/%2f", self.address(i))
    }

    /// Every node's [`url`](Self::url), in order, joined with ",".
    pub fn urls(&self) -> String {
        (0..NODES)
            .map(|i| self.url(i))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `<ip>:5672`: node `i`'s AMQP address on the clients network, which
    /// the host reaches directly. A stopped or killed node keeps its last
    /// address (nothing answers there); [`start_again`](Self::start_again)
    /// may move it.
    pub fn address(&self, i: usize) -> String {
        let ip = self.addresses.lock().expect("addresses")[self.index(i)].clone();
        format!("{ip}:{AMQP_PORT}")
    }

    /// `rabbit@rmq<i>-<suffix>`, node `i`'s Erlang node name.
    pub fn node_name(&self, i: usize) -> String {
        format!("rabbit@{}", self.hosts[self.index(i)])
    }

    /// The name of node `i`'s container.
    pub fn container(&self, i: usize) -> &str {
        &self.containers[self.index(i)]
    }

    /// Runs `rabbitmqctl <args>` on node `i`; fails the test if it fails.
    pub fn rabbitmqctl(&self, i: usize, args: &[&str]) -> String {
        self.try_rabbitmqctl(i, args)
            .unwrap_or_else(|problem| panic!("rabbitmqctl {args:?} on node {i} failed: {problem}"))
    }

    /// Runs `rabbitmqctl <args>` on node `i`, bounded to 30 s: its output, or
    /// why it failed, for use while nodes are down or cut off.
    pub fn try_rabbitmqctl(&self, i: usize, args: &[&str]) -> Result<String, String> {
        let mut full = vec!["exec", self.container(i), "rabbitmqctl"];
        full.extend_from_slice(args);
        try_docker(30, &full)
    }

    /// Kills node `i` (`docker kill`: no clean shutdown, its peers see its
    /// connections drop at once).
    pub fn kill(&self, i: usize) {
        docker(&["kill", self.container(i)]);
    }

    /// Stops node `i` (`docker stop`: a clean shutdown).
    pub fn stop(&self, i: usize) {
        docker(&["stop", self.container(i)]);
    }

    /// Starts the killed or stopped node `i` again and waits until it is
    /// running and back in the cluster (another node lists it as running).
    /// At least one other node must be running. Fails the test, with the
    /// node's log, past 120 s.
    pub fn start_again(&self, i: usize) {
        let deadline = Instant::now() + REJOIN_LIMIT;
        let boots = self.ready_count(i);
        docker(&["start", self.container(i)]);
        let rejoined = self.wait_ready(i, boots + 1, deadline).and_then(|()| {
            self.refresh_address(i)?;
            let name = self.node_name(i);
            wait_until(deadline, || {
                (0..NODES).filter(|&other| other != i).any(|other| {
                    self.try_running_nodes(other)
                        .is_ok_and(|r| r.contains(&name))
                })
            })
            .map_err(|()| format!("no other node lists {name} as running"))
        });
        if let Err(problem) = rejoined {
            panic!(
                "node {i} did not come back within {REJOIN_LIMIT:?}: {problem}.\n{}",
                self.log_tails()
            );
        }
    }

    /// Cuts node `i` off from its peers (disconnects it from the cluster
    /// network) while clients can still reach it. With `pause_minority`,
    /// the node pauses (closes its AMQP port) once it notices, within about
    /// 10 to 15 s.
    pub fn disconnect(&self, i: usize) {
        docker(&[
            "network",
            "disconnect",
            &self.cluster_network,
            self.container(i),
        ]);
    }

    /// Connects node `i` back to its peers, under the same host name; it
    /// rejoins (and resumes, if paused) on its own.
    pub fn reconnect(&self, i: usize) {
        docker(&[
            "network",
            "connect",
            "--alias",
            &self.hosts[self.index(i)],
            &self.cluster_network,
            self.container(i),
        ]);
    }

    /// The node names that node `from` sees running (its
    /// `rabbitmqctl cluster_status`); fails the test if it does not answer.
    pub fn running_nodes(&self, from: usize) -> Vec<String> {
        self.try_running_nodes(from).unwrap_or_else(|problem| {
            panic!("cannot ask node {from} which nodes are running: {problem}")
        })
    }

    /// Which node holds the leader of the quorum queue `queue` (in the
    /// virtual host "/"), as the first node that answers says; `None` if no
    /// node answers or none knows the queue.
    pub fn leader_of(&self, queue: &str) -> Option<usize> {
        let args = ["-q", "list_queues", "name", "leader", "--no-table-headers"];
        let listing = (0..NODES).find_map(|i| self.try_rabbitmqctl(i, &args).ok())?;
        let leader = listing
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .find(|(name, _)| *name == queue)
            .map(|(_, leader)| leader.trim().to_owned())?;
        (0..NODES).find(|&i| self.node_name(i) == leader)
    }

    fn index(&self, i: usize) -> usize {
        assert!(
            i < NODES,
            "the cluster has nodes 0 to {}, not {i}",
            NODES - 1
        );
        i
    }

    /// Creates the networks and the configuration, starts node 0 alone, then
    /// the others, and waits for all three to be running together.
    fn form(&self, image: &str, deadline: Instant) -> Result<(), String> {
        for network in [&self.cluster_network, &self.clients_network] {
            try_docker(60, &["network", "create", network])?;
        }
        self.write_config()?;
        // Started together, blank nodes can each find no running peer and
        // form clusters of their own: node 0 boots first, as the seed.
        self.run_node(0, image)?;
        self.wait_ready(0, 1, deadline)?;
        for i in 1..NODES {
            self.run_node(i, image)?;
        }
        for i in 1..NODES {
            self.wait_ready(i, 1, deadline)?;
        }
        for i in 0..NODES {
            self.refresh_address(i)?;
        }
        wait_until(deadline, || {
            self.try_running_nodes(0)
                .is_ok_and(|running| running.len() == NODES)
        })
        .map_err(|()| {
            format!(
                "the nodes booted, but node 0 sees {:?} running within {FORM_LIMIT:?}",
                self.try_running_nodes(0)
            )
        })
    }

    /// Writes each node's `rabbitmq.conf` and Erlang resolver file.
    fn write_config(&self) -> Result<(), String> {
        fs::create_dir_all(&self.config_dir)
            .map_err(|err| format!("cannot create {}: {err}", self.config_dir.display()))?;
        for i in 0..NODES {
            let mut config = String::from(
                "loopback_users = none\n\
                 listeners.tcp.default = 5672\n\
                 log.console = true\n\
                 log.file = false\n\
                 cluster_partition_handling = pause_minority\n",
            );
            // The seed lists no peers: it would spend 5 s trying to reach
            // nodes not started yet. Peer discovery runs on a blank node
            // only, so this does not matter when it starts again.
            if i > 0 {
                config.push_str("cluster_formation.peer_discovery_backend = classic_config\n");
                for (n, host) in self.hosts.iter().enumerate() {
                    config.push_str(&format!(
                        "cluster_formation.classic_config.nodes.{} = rabbit@{host}\n",
                        n + 1
                    ));
                }
            }
            // A node's own host name resolves to itself even while it is
            // cut off (its network alias then resolves nowhere), so that
            // rabbitmqctl still reaches it. Docker's --add-host would not
            // do: the engine (20.10 at least) rewrites /etc/hosts on network
            // (dis)connect, losing the entry.
            let inetrc = format!(
                "{{host, {{127,0,0,1}}, [\"{}\"]}}.\n{{lookup, [file, native]}}.\n",
                self.hosts[i]
            );
            for (path, text) in [(self.config_file(i), config), (self.inetrc_file(i), inetrc)] {
                // Readable by the nodes' user whatever this process's umask.
                fs::write(&path, text)
                    .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(0o644)))
                    .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
            }
        }
        Ok(())
    }

    fn config_file(&self, i: usize) -> PathBuf {
        self.config_dir.join(format!("n{i}.conf"))
    }

    fn inetrc_file(&self, i: usize) -> PathBuf {
        self.config_dir.join(format!("n{i}.inetrc"))
    }

    /// Starts node `i`'s container: on the cluster network first, under an
    /// alias that is its Erlang host name, then on the clients network.
    fn run_node(&self, i: usize, image: &str) -> Result<(), String> {
        // The Erlang host is an alias of the cluster network only: the
        // engine registers a container's host name on every network it
        // joins, so peers resolving that name could reach each other over
        // the clients network, and cutting a node off would not.
        let host = &self.hosts[i];
        let cookie = format!("testkit-{}", self.suffix);
        // The same cookie and tick time for the server and for rabbitmqctl
        // (a CLI ticking slower than the node would be dropped on long
        // commands).
        let erl_args = format!("-setcookie {cookie} -kernel net_ticktime {NET_TICKTIME}");
        let env = [
            format!("RABBITMQ_NODENAME=rabbit@{host}"),
            "RABBITMQ_USE_LONGNAME=false".to_owned(),
            format!("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS={erl_args}"),
            format!("RABBITMQ_CTL_ERL_ARGS={erl_args}"),
            format!("ERL_INETRC={INETRC_PATH}"),
        ];
        let mounts = [
            format!("{}:{CONFIG_PATH}:ro", self.config_file(i).display()),
            format!("{}:{INETRC_PATH}:ro", self.inetrc_file(i).display()),
        ];
        let container = &self.containers[i];
        let mut args = vec![
            "run",
            "-d",
            "--name",
            container,
            "--hostname",
            container,
            "--network",
            &self.cluster_network,
            "--network-alias",
            host,
        ];
        for variable in &env {
            args.extend(["-e", variable]);
        }
        for mount in &mounts {
            args.extend(["-v", mount]);
        }
        args.push(image);
        try_docker(60, &args)?;
        try_docker(
            60,
            &["network", "connect", &self.clients_network, container],
        )?;
        Ok(())
    }

    /// Reads node `i`'s address on the clients network.
    fn refresh_address(&self, i: usize) -> Result<(), String> {
        let format = format!(
            "{{{{(index .NetworkSettings.Networks \"{}\").IPAddress}}}}",
            self.clients_network
        );
        let ip = try_docker(60, &["inspect", "--format", &format, self.container(i)])?;
        let ip = ip.trim();
        if ip.is_empty() {
            return Err(format!("node {i} has no address on the clients network"));
        }
        self.addresses.lock().expect("addresses")[i] = ip.to_owned();
        Ok(())
    }

    /// How many times node `i` has logged that it booted (its log spans
    /// every start of the container).
    fn ready_count(&self, i: usize) -> usize {
        self.log(i, None)
            .map_or(0, |log| log.matches(READY_LINE).count())
    }

    /// Waits until node `i` has booted `boots` times, failing early if its
    /// container exits.
    fn wait_ready(&self, i: usize, boots: usize, deadline: Instant) -> Result<(), String> {
        let mut exited = false;
        wait_until(deadline, || {
            if self.ready_count(i) >= boots {
                return true;
            }
            let running = try_docker(
                60,
                &[
                    "inspect",
                    "--format",
                    "{{.State.Running}}",
                    self.container(i),
                ],
            );
            exited = running.is_ok_and(|state| state.trim() == "false");
            exited
        })
        .map_err(|()| format!("node {i} did not boot in time"))?;
        if exited {
            return Err(format!("node {i}'s container exited while booting"));
        }
        Ok(())
    }

    fn try_running_nodes(&self, from: usize) -> Result<Vec<String>, String> {
        let status = self.try_rabbitmqctl(from, &["cluster_status", "--formatter", "json"])?;
        json_string_list(&status, "running_nodes")
            .ok_or_else(|| format!("no running_nodes in node {from}'s cluster status: {status}"))
    }

    /// Node `i`'s log (its last `lines`), both of the container's output
    /// streams.
    fn log(&self, i: usize, lines: Option<usize>) -> Result<String, String> {
        let lines = lines.map_or("all".to_owned(), |lines| lines.to_string());
        let output = Command::new("timeout")
            .args(["60", "docker", "logs", "--tail", &lines, self.container(i)])
            .stdin(Stdio::null())
            .output()
            .map_err(|err| format!("cannot run the docker CLI: {err}"))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        if output.status.success() {
            Ok(text)
        } else {
            Err(text.trim().to_owned())
        }
    }

    /// The last lines of every node's log, for a failure's message.
    fn log_tails(&self) -> String {
        let mut text = String::new();
        for (i, container) in self.containers.iter().enumerate() {
            let tail = match self.log(i, Some(25)) {
                Ok(tail) => tail,
                Err(problem) if problem.contains("No such container") => "(not created)\n".into(),
                Err(problem) => format!("(no log: {problem})\n"),
            };
            text.push_str(&format!("--- node {i} ({container}), last lines:\n{tail}"));
        }
        text
    }

    /// The removal, for [`Drop`] and for the watcher.
    fn removal_script(&self) -> String {
        format!(
            "timeout 60 docker rm -f -v {containers} >/dev/null 2>&1; \
             timeout 60 docker network rm {cluster} {clients} >/dev/null 2>&1; \
             rm -rf '{dir}'",
            containers = self.containers.join(" "),
            cluster = self.cluster_network,
            clients = self.clients_network,
            dir = self.config_dir.display(),
        )
    }

    /// A small process that removes the cluster once this process has
    /// exited, as [`remove_container_at_exit`](crate::remove_container_at_exit)
    /// does for one container: a test that panics while another thread
    /// holds the cluster, or aborts, never drops it.
    fn remove_at_exit(&self) {
        crate::run_at_exit(&self.removal_script(), &format!("cluster {}", self.suffix));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Errors ignored: whatever was never created is simply absent.
        let removed = Command::new("sh")
            .args(["-c", &self.removal_script()])
            .stdin(Stdio::null())
            .status();
        if !removed.is_ok_and(|status| status.success()) {
            eprintln!("warning: cluster {} may not be fully removed", self.suffix);
        }
    }
}

/// Unique across the processes and clusters of this machine: the process
/// id, a counter, and some bits of the clock (the process id of a finished
/// test run may be reused). Short, since it is part of host names.
fn unique_suffix() -> String {
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.subsec_nanos());
    format!(
        "{}x{}x{:04x}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed),
        nanos & 0xffff
    )
}

/// Runs `docker <args>` bounded to `seconds`: its standard output, or why it
/// failed.
fn try_docker(seconds: u32, args: &[&str]) -> Result<String, String> {
    let output = Command::new("timeout")
        .arg(seconds.to_string())
        .arg("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run the docker CLI: {err}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "docker {args:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Polls `done` every 500 ms until it holds or `deadline` passes.
fn wait_until(deadline: Instant, mut done: impl FnMut() -> bool) -> Result<(), ()> {
    loop {
        if done() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The strings of the list `"key": [...]` in a JSON text, for lists of
/// plain strings such as node names (no escapes, commas or brackets).
fn json_string_list(json: &str, key: &str) -> Option<Vec<String>> {
    let after_key = &json[json.find(&format!("\"{key}\""))? + key.len() + 2..];
    let list = after_key.trim_start().strip_prefix(':')?.trim_start();
    let list = list.strip_prefix('[')?;
    Some(
        list[..list.find(']')?]
            .split(',')
            .map(|item| item.trim().trim_matches('"').to_owned())
            .filter(|item| !item.is_empty())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::json_string_list;

    #[test]
    fn reads_a_list_of_strings_from_json() {
        let status = r#"{"partitions":{},"running_nodes":["rabbit@a","rabbit@b"],"x":[1]}"#;
        assert_eq!(
            json_string_list(status, "running_nodes"),
            Some(vec!["rabbit@a".to_owned(), "rabbit@b".to_owned()])
        );
        assert_eq!(
            json_string_list("{\"running_nodes\" : [ ]}", "running_nodes"),
            Some(vec![])
        );
        assert_eq!(json_string_list("{}", "running_nodes"), None);
    }
}
