//! Push and remotes, with the real git CLI (and git's own servers) as the
//! oracle: `git fsck --strict` on the remote and `git log` equal to the
//! local one.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use common::{git, tester, within, Server};
use repo_lite::{Error, InitOptions, Project, PushOptions, UpdateKind};

/// A project with `commits` commits on `main`, in `dir/local`.
fn project_with_commits(dir: &Path, commits: usize) -> Project {
    let project = Project::init(dir.join("local"), &InitOptions::default())
        .unwrap()
        .with_signature(tester());
    for number in 0..commits {
        project
            .add_file(
                format!("files/{}.txt", number % 7),
                format!("commit {number}\n"),
                &format!("Commit {number}"),
            )
            .unwrap();
    }
    project
}

/// An empty bare repository at `dir/served/<name>`.
fn bare_remote(dir: &Path, name: &str) -> PathBuf {
    let served = dir.join("served");
    std::fs::create_dir_all(&served).unwrap();
    git(&served, &["init", "-q", "--bare", "-b", "main", name]);
    served.join(name)
}

/// Pushes `main` to `remote`, which must refuse it.
fn refused_push(project: &Project, remote: &Path) -> Error {
    project
        .push(remote.to_str().unwrap(), PushOptions::default())
        .unwrap_err()
}

/// The remote's refusal `err` names `refs/heads/main` and its text holds
/// `said`.
fn assert_refusal_names_main_and_says(err: &Error, said: &str) {
    let (reference, text) = match err {
        Error::HookDeclined {
            reference, message, ..
        } => (reference, message),
        Error::PushRejected {
            reference, reason, ..
        } => (reference, reason),
        other => panic!("not a refusal with a reason: {other:?}"),
    };
    assert_eq!(reference, "refs/heads/main");
    assert!(text.contains(said), "{text}");
}

fn assert_remote_matches(project: &Project, remote: &Path) {
    git(remote, &["fsck", "--strict"]);
    assert_eq!(
        git(remote, &["log", "--format=%H %s", "main"]),
        git(project.root(), &["log", "--format=%H %s", "main"])
    );
}

/// Pushes 1 commit, then 199 more, to `url` (which reaches `remote`).
fn push_one_then_two_hundred(dir: &Path, remote: &Path, url: &str) {
    push_commits_to(&project_with_commits(dir, 0), remote, url);
}

/// Adds a commit to `project` and pushes it, then 199 more, to `url`.
fn push_commits_to(project: &Project, remote: &Path, url: &str) {
    project
        .add_file("files/0.txt", "commit 0\n", "Commit 0")
        .unwrap();
    let outcome = project
        .push(url, PushOptions::default().branch("main"))
        .unwrap();
    assert_eq!(outcome.updates.len(), 1);
    assert_eq!(outcome.updates[0].kind, UpdateKind::Created);
    assert_remote_matches(project, remote);
    let first_objects = outcome.objects_sent;

    for number in 1..200 {
        project
            .add_file(
                format!("files/{}.txt", number % 7),
                format!("commit {number}\n"),
                &format!("Commit {number}"),
            )
            .unwrap();
    }
    let outcome = project
        .push(url, PushOptions::default().branch("main"))
        .unwrap();
    assert_eq!(outcome.updates[0].kind, UpdateKind::FastForward);
    assert_remote_matches(project, remote);
    assert!(first_objects >= 3, "{first_objects}");
    // 199 commits, each with its root tree, `files/` and one blob; and
    // the remote's tip commit and tree, which gix's generator adds.
    assert!(
        outcome.objects_sent <= 199 * 4 + 2,
        "{}",
        outcome.objects_sent
    );

    // Nothing new: nothing sent.
    let again = project
        .push(url, PushOptions::default().branch("main"))
        .unwrap();
    assert_eq!(again.updates[0].kind, UpdateKind::UpToDate);
    assert_eq!(again.objects_sent, 0);
}

#[test]
fn push_over_a_plain_path_and_file_urls() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "path.git");
    push_one_then_two_hundred(dir.path(), &remote, remote.to_str().unwrap());

    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "file.git");
    push_one_then_two_hundred(dir.path(), &remote, &format!("file://{}", remote.display()));
}

#[test]
fn push_over_git_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "daemon.git");
    let server = Server::git_daemon_with(&dir.path().join("served"), &["--enable=receive-pack"]);
    let url = format!("git://127.0.0.1:{}/daemon.git", server.port);
    push_through(dir, remote, server, url);
}

#[test]
fn push_over_smart_http() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "http.git");
    // git http-backend takes anonymous pushes only where this is set.
    git(&remote, &["config", "http.receivepack", "true"]);
    let server = Server::git_http(&dir.path().join("served"));
    let url = format!("http://127.0.0.1:{}/http.git", server.port);
    push_through(dir, remote, server, url);
}

/// [`push_one_then_two_hundred`] to `url` through `server`, bounded in time.
fn push_through(dir: tempfile::TempDir, remote: PathBuf, server: Server, url: String) {
    within(Duration::from_secs(60), move || {
        push_one_then_two_hundred(dir.path(), &remote, &url);
        drop(server);
    });
}

#[test]
fn push_over_ssh() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "ssh.git");
    let (server, ssh) = Server::sshd(&dir.path().join("sshd"));
    // The project's ssh command logs in with the test's key.
    let local = dir.path().join("local");
    project_with_commits(dir.path(), 0);
    git(&local, &["config", "core.sshCommand", &ssh]);
    let url = format!(
        "ssh://{}@127.0.0.1:{}{}",
        common::user_name(),
        server.port,
        remote.display()
    );
    within(Duration::from_secs(90), move || {
        let project = Project::open(dir.path().join("local"))
            .unwrap()
            .with_signature(tester());
        push_commits_to(&project, &remote, &url);
        drop(server);
    });
}

/// Over HTTPS (a server whose certificate the child process trusts
/// through `SSL_CERT_FILE`), a wrong password is `AuthenticationFailed`,
/// shown nowhere; the right one pushes, from the URL or from git's
/// credential helper.
#[test]
fn push_over_https_with_a_password_and_a_wrong_one() {
    if common::in_child() {
        let dir = PathBuf::from(std::env::var("PUSH_TEST_DIR").unwrap());
        let port = std::env::var("PUSH_TEST_PORT").unwrap();
        let remote = dir.join("served/https.git");
        let project = project_with_commits(&dir, 0);
        let wrong = format!("https://ada:wrong-pass@127.0.0.1:{port}/https.git");
        project.add_file("a.txt", "a\n", "A").unwrap();
        let err = project.push(&wrong, PushOptions::default()).unwrap_err();
        assert!(matches!(err, Error::AuthenticationFailed { .. }), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("wrong-pass"), "{err:?}");
        assert!(git(&remote, &["for-each-ref"]).is_empty());
        let right = format!("https://ada:s3cret@127.0.0.1:{port}/https.git");
        let outcome = project.push(&right, PushOptions::default()).unwrap();
        assert_eq!(outcome.updates[0].kind, UpdateKind::Created);
        assert!(!outcome.url.contains("s3cret"), "{}", outcome.url);
        assert_remote_matches(&project, &remote);

        // With no credentials in the URL, git's credential helpers answer.
        git(
            project.root(),
            &[
                "config",
                "credential.helper",
                "!f() { echo username=ada; echo password=s3cret; }; f",
            ],
        );
        let project = Project::open(project.root())
            .unwrap()
            .with_signature(tester());
        project.add_file("b.txt", "b\n", "B").unwrap();
        let bare_url = format!("https://127.0.0.1:{port}/https.git");
        let outcome = project.push(&bare_url, PushOptions::default()).unwrap();
        assert_eq!(outcome.updates[0].kind, UpdateKind::FastForward);
        assert_remote_matches(&project, &remote);
        println!("PUSHED");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    bare_remote(dir.path(), "https.git");
    let (ca, cert, key) = common::make_certificates(&dir.path().join("tls"));
    let server = Server::git_http_with(
        &dir.path().join("served"),
        Some("ada:s3cret"),
        Some((&cert, &key)),
    );
    let output = common::run_in_child(
        "push_over_https_with_a_password_and_a_wrong_one",
        "",
        &[
            ("SSL_CERT_FILE", ca.to_str().unwrap()),
            ("PUSH_TEST_DIR", dir.path().to_str().unwrap()),
            ("PUSH_TEST_PORT", &server.port.to_string()),
        ],
        Duration::from_secs(90),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("PUSHED"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    drop(server);
}

#[test]
fn a_password_is_never_sent_over_plain_http_nor_shown() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "login.git");
    let server = Server::git_http_with_login(&dir.path().join("served"), Some("ada:s3cret"));
    let port = server.port;
    within(Duration::from_secs(60), move || {
        let project = project_with_commits(dir.path(), 1);
        let url = format!("http://ada:s3cret@127.0.0.1:{port}/login.git");
        let err = project
            .push(&url, PushOptions::default().branch("main"))
            .unwrap_err();
        assert!(matches!(err, Error::AuthenticationFailed { .. }), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("s3cret"), "{err:?}");
        assert!(git(&remote, &["for-each-ref"]).is_empty());
        drop(server);
    });
}

#[test]
fn a_push_behind_the_remote_is_non_fast_forward_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "shared.git");
    let url = remote.to_str().unwrap().to_owned();
    let project = project_with_commits(dir.path(), 2);
    project.push(&url, PushOptions::default()).unwrap();

    // Someone else pushes first, with git.
    git(dir.path(), &["clone", "-q", &url, "other"]);
    let other = dir.path().join("other");
    std::fs::write(other.join("theirs.txt"), "theirs\n").unwrap();
    git(&other, &["add", "theirs.txt"]);
    common::commit_and_push_as_someone_else(&other, "Theirs");
    let remote_tip = git(&remote, &["rev-parse", "main"]);

    project.add_file("mine.txt", "mine\n", "Mine").unwrap();
    let err = project.push(&url, PushOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::NonFastForward { reference, .. } if reference == "refs/heads/main"),
        "{err:?}"
    );
    assert_eq!(git(&remote, &["rev-parse", "main"]), remote_tip);

    // A forced push with a stale lease changes nothing either.
    let err = project
        .push(
            &url,
            PushOptions::default()
                .force(true)
                .expected(git(project.root(), &["rev-parse", "main~1"])),
        )
        .unwrap_err();
    assert!(matches!(err, Error::StaleLease { .. }), "{err:?}");
    assert_eq!(git(&remote, &["rev-parse", "main"]), remote_tip);

    // With the lease on what the remote has, the force goes through.
    let outcome = project
        .push(
            &url,
            PushOptions::default().force(true).expected(remote_tip),
        )
        .unwrap();
    assert_eq!(outcome.updates[0].kind, UpdateKind::Forced);
    assert_remote_matches(&project, &remote);
}

#[test]
fn a_pre_receive_hook_that_refuses_comes_back_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "hooked.git");
    let hook = remote.join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'policy: no pushes on Mondays' >&2\nexit 1\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let project = project_with_commits(dir.path(), 1);
    let err = refused_push(&project, &remote);
    assert!(matches!(err, Error::HookDeclined { .. }), "{err:?}");
    assert_refusal_names_main_and_says(&err, "no pushes on Mondays");
    assert!(git(&remote, &["for-each-ref"]).is_empty());
}

#[test]
fn pushes_by_git_and_by_repo_lite_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "mixed.git");
    let url = remote.to_str().unwrap().to_owned();
    let project = project_with_commits(dir.path(), 1);
    project.push(&url, PushOptions::default()).unwrap();
    project.add_file("b.txt", "b\n", "B").unwrap();
    git(project.root(), &["push", "-q", &url, "main"]);
    project.add_file("c.txt", "c\n", "C").unwrap();
    let outcome = project.push(&url, PushOptions::default()).unwrap();
    assert_eq!(outcome.updates[0].kind, UpdateKind::FastForward);
    assert_remote_matches(&project, &remote);
}

#[test]
fn a_cancelled_push_leaves_the_remote_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "cancel.git");
    let project = project_with_commits(dir.path(), 3);
    let flag = Arc::new(AtomicBool::new(false));
    let trip = flag.clone();
    let options = PushOptions::default()
        .cancel_flag(flag)
        .on_progress(move |progress| {
            if progress.phase == repo_lite::PushPhase::Writing {
                trip.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        });
    let err = project.push(remote.to_str().unwrap(), options).unwrap_err();
    assert!(matches!(err, Error::PushCancelled { .. }), "{err:?}");
    assert!(git(&remote, &["for-each-ref"]).is_empty());
    git(&remote, &["fsck", "--strict"]);
}

#[test]
fn bad_input_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "safe.git");
    let project = project_with_commits(dir.path(), 1);
    let marker = dir.path().join("pwned");
    for url in [
        format!("--receive-pack=touch {}", marker.display()),
        format!("ext::sh -c touch% {}", marker.display()),
        "-oProxyCommand=x".to_owned(),
        "ssh://-oProxyCommand=x/repo".to_owned(),
    ] {
        let err = project.push(&url, PushOptions::default()).unwrap_err();
        assert!(matches!(err, Error::InvalidUrl { .. }), "{url}: {err:?}");
    }
    assert!(!marker.exists());
    let url = remote.to_str().unwrap();
    let err = project
        .push(url, PushOptions::default().branch("no-such-branch"))
        .unwrap_err();
    assert!(matches!(err, Error::LocalRefNotFound { .. }), "{err:?}");
    let err = project
        .push(url, PushOptions::default().branch("-x"))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidBranchName { .. }), "{err:?}");
    let err = project
        .push(url, PushOptions::default().branch("../../etc"))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidBranchName { .. }), "{err:?}");
    assert!(git(&remote, &["for-each-ref"]).is_empty());
}

#[test]
fn remotes_are_added_listed_and_removed_as_git_reads_them() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "named.git");
    let project = project_with_commits(dir.path(), 2);
    let root = project.root().to_owned();
    project
        .add_remote("origin", remote.to_str().unwrap())
        .unwrap();
    assert_eq!(
        git(&root, &["remote", "get-url", "origin"]),
        remote.to_str().unwrap()
    );
    assert_eq!(
        git(&root, &["config", "remote.origin.fetch"]),
        "+refs/heads/*:refs/remotes/origin/*"
    );
    let err = project.add_remote("origin", "/elsewhere").unwrap_err();
    assert!(matches!(err, Error::RemoteExists { .. }), "{err:?}");
    for bad in ["", "-x", "a b", "a..b", "x\n[core]"] {
        let err = project.add_remote(bad, "/elsewhere").unwrap_err();
        assert!(
            matches!(err, Error::InvalidRemoteName { .. }),
            "{bad:?}: {err:?}"
        );
    }
    git(
        &root,
        &["remote", "add", "mirror", "https://example.com/m.git"],
    );
    let names: Vec<String> = project
        .remotes()
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["origin", "mirror"]);

    // Pushing by name moves the remote-tracking branch, as git push does.
    project.push("origin", PushOptions::default()).unwrap();
    assert_remote_matches(&project, &remote);
    assert_eq!(
        git(&root, &["rev-parse", "refs/remotes/origin/main"]),
        git(&root, &["rev-parse", "main"])
    );

    project.remove_remote("origin").unwrap();
    assert_eq!(git(&root, &["remote"]), "mirror");
    assert!(git(&root, &["for-each-ref", "refs/remotes/origin"]).is_empty());
    let err = project.remove_remote("origin").unwrap_err();
    assert!(matches!(err, Error::RemoteNotFound { .. }), "{err:?}");
}

#[test]
fn a_tag_is_pushed_with_its_branch() {
    let dir = tempfile::tempdir().unwrap();
    let remote = bare_remote(dir.path(), "tags.git");
    let project = project_with_commits(dir.path(), 2);
    git(
        project.root(),
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "tag",
            "-a",
            "v1",
            "-m",
            "One",
        ],
    );
    git(project.root(), &["tag", "light"]);
    project
        .push(
            remote.to_str().unwrap(),
            PushOptions::default().tag("v1").tag("light"),
        )
        .unwrap();
    assert_eq!(
        git(&remote, &["rev-parse", "v1", "light"]),
        git(project.root(), &["rev-parse", "v1", "light"])
    );
    git(&remote, &["fsck", "--strict"]);

    // The next push sends only what the tags and branch do not reach.
    project.add_file("after.txt", "after\n", "After").unwrap();
    let outcome = project
        .push(remote.to_str().unwrap(), PushOptions::default())
        .unwrap();
    assert_eq!(outcome.updates[0].kind, UpdateKind::FastForward);
    assert!(outcome.objects_sent <= 5, "{}", outcome.objects_sent);
    assert_remote_matches(&project, &remote);
}

/// A port on 127.0.0.1 that accepts connections and never answers.
fn silent_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for _ in 0..4 {
            if let Ok((stream, _)) = listener.accept() {
                open.push(stream);
            }
        }
        std::thread::sleep(Duration::from_secs(15));
    });
    port
}

#[test]
fn a_server_that_never_answers_fails_the_push_within_its_timeout() {
    for scheme in ["git", "http"] {
        let dir = tempfile::tempdir().unwrap();
        let project = project_with_commits(dir.path(), 1);
        let url = format!("{scheme}://127.0.0.1:{}/silent.git", silent_server());
        let started = std::time::Instant::now();
        let err = within(Duration::from_secs(8), move || {
            project
                .push(&url, PushOptions::default().timeout(Duration::from_secs(1)))
                .unwrap_err()
        });
        assert!(matches!(err, Error::Push { .. }), "{scheme}: {err:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{scheme}: {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn a_protected_branch_is_push_rejected_with_the_remote_s_reason() {
    let dir = tempfile::tempdir().unwrap();
    // A repository with a work tree protects its checked-out branch.
    git(dir.path(), &["init", "-q", "-b", "main", "checked-out"]);
    let remote = dir.path().join("checked-out");
    git(
        &remote,
        &[
            "-c",
            "user.name=R",
            "-c",
            "user.email=r@example.com",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "Root",
        ],
    );
    let tip = git(&remote, &["rev-parse", "main"]);
    git(
        dir.path(),
        &["clone", "-q", remote.to_str().unwrap(), "local"],
    );
    let project = Project::open(dir.path().join("local"))
        .unwrap()
        .with_signature(tester());
    project.add_file("a.txt", "a\n", "A").unwrap();
    let err = refused_push(&project, &remote);
    assert!(matches!(err, Error::PushRejected { .. }), "{err:?}");
    assert_refusal_names_main_and_says(&err, "checked out");
    assert_eq!(git(&remote, &["rev-parse", "main"]), tip);
}
