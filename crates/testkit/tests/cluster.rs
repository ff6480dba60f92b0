//! The three-node cluster fixture: it forms, clients reach every node from
//! the host, a killed node is noticed and comes back, a node cut off from
//! its peers pauses and rejoins, and nothing is left once it is dropped.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use testkit::{docker, Cluster};

/// The whole test's bound (it takes about 80 s on an idle 2-core machine).
const TEST_LIMIT: Duration = Duration::from_secs(180);

#[test]
fn forms_loses_a_node_heals_a_partition_and_leaves_nothing() {
    // A hung step must not hang the run: the process exits, and the
    // cluster's watcher removes it.
    testkit::exit_after(TEST_LIMIT, "the cluster test");

    let started = Instant::now();
    let cluster = Cluster::start();
    eprintln!("cluster formed in {:?}", started.elapsed());

    let mut running = cluster.running_nodes(0);
    running.sort();
    let names: Vec<String> = (0..cluster.len()).map(|i| cluster.node_name(i)).collect();
    assert_eq!(running, names);
    for i in 0..cluster.len() {
        assert!(
            amqp_port_open(&cluster.address(i)),
            "node {i}'s AMQP port ({}) is not reachable from the host",
            cluster.address(i)
        );
    }
    assert_eq!(cluster.urls().split(',').count(), 3);
    assert!(cluster.url(0).starts_with("amqp://guest:guest@"));

    // A quorum queue's leader is found in mq-lite's cluster tests, which
    // declare one over AMQP.
    assert_eq!(cluster.leader_of("no-such-queue"), None);

    // A killed node: its peers see its connections close at once.
    let killed = Instant::now();
    cluster.kill(2);
    let noticed = wait_for("node 0 to see node 2 gone", Duration::from_secs(30), || {
        cluster.running_nodes(0).len() == 2
    });
    eprintln!("killed node noticed in {noticed:?}");
    let restarted = Instant::now();
    cluster.start_again(2);
    eprintln!(
        "killed node back in the cluster {:?} after its start ({:?} after the kill)",
        restarted.elapsed(),
        killed.elapsed()
    );
    assert_eq!(cluster.running_nodes(0).len(), 3);
    assert!(amqp_port_open(&cluster.address(2)));

    // A partition: node 1 alone is a minority, pauses and closes its port;
    // nodes 0 and 2 keep running.
    cluster.disconnect(1);
    let paused = wait_for(
        "node 1 to pause (its AMQP port closed)",
        Duration::from_secs(40),
        || !amqp_port_open(&cluster.address(1)),
    );
    eprintln!("cut-off node paused {paused:?} after the disconnect");
    let gone = wait_for("node 0 to see node 1 gone", Duration::from_secs(20), || {
        !cluster.running_nodes(0).contains(&cluster.node_name(1))
    });
    eprintln!("majority saw the cut-off node gone {gone:?} after that");
    assert!(amqp_port_open(&cluster.address(0)));
    // rabbitmqctl still reaches the cut-off node, which sees no peer.
    let asked = Instant::now();
    let peers = cluster.try_rabbitmqctl(1, &["eval", "nodes()."]);
    eprintln!(
        "the cut-off node answered rabbitmqctl in {:?}",
        asked.elapsed()
    );
    assert_eq!(peers.as_deref().map(str::trim), Ok("[]"));

    let reconnected = Instant::now();
    cluster.reconnect(1);
    wait_for("node 1 to rejoin", Duration::from_secs(60), || {
        cluster.running_nodes(0).len() == 3 && amqp_port_open(&cluster.address(1))
    });
    eprintln!(
        "cut-off node rejoined and accepts connections {:?} after the reconnect",
        reconnected.elapsed()
    );

    let suffix = cluster.suffix().to_owned();
    let removal = Instant::now();
    drop(cluster);
    eprintln!("cluster removed in {:?}", removal.elapsed());
    let containers = docker(&["ps", "-a", "--format", "{{.Names}}"]);
    let networks = docker(&["network", "ls", "--format", "{{.Name}}"]);
    assert!(
        !containers.contains(&suffix) && !networks.contains(&suffix),
        "left behind: containers {containers:?}, networks {networks:?}"
    );
    eprintln!("whole test: {:?}", started.elapsed());
}

/// True when a TCP connection to the AMQP port opens within 2 s.
fn amqp_port_open(address: &str) -> bool {
    let address: SocketAddr = address.parse().expect("an ip:port address");
    TcpStream::connect_timeout(&address, Duration::from_secs(2)).is_ok()
}

/// Polls `done` every 250 ms until it holds, failing the test past `limit`;
/// returns how long it took.
fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < limit,
            "waited {limit:?} for {what} in vain"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    started.elapsed()
}
