#!/usr/bin/env python3
"""GitPython side of bench/git: one timed sample, then one JSON line.

usage: gitpython_bench.py {clone,add,update,push} DEST [--url URL] [--ops N]

For `push`, DEST is the project whose `main` is pushed to URL.

The time covers only the operation, measured inside this process: not the
interpreter start, `import git`, or the untimed setup (init, and for
`update` the first commit). File names and contents mirror
bench/git/src/workload.rs, so that every tool does the same work.
"""

import argparse
import json
import os
import time

import git

UPDATED_FILE = "notes.txt"


def added_path(i):
    return f"dir{i % 10}/file{i:04}.txt"


def added_contents(i):
    return f"file {i}\nsome text of a small source file\n"


def updated_contents(i):
    return f"version {i}\nsome text of a small source file\n"


def commit_file(repo, path, contents, message):
    """Writes the file, stages it, and commits the index, as a GitPython
    user would; GitPython writes the objects and the index itself."""
    full = os.path.join(repo.working_tree_dir, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        f.write(contents.encode())
    repo.index.add([path])
    repo.index.commit(message)


def new_repo(dest):
    return git.Repo.init(dest, mkdir=True, initial_branch="main")


def clone(args):
    start = time.perf_counter()
    repo = git.Repo.clone_from(args.url, args.dest)
    seconds = time.perf_counter() - start
    repo.close()
    return seconds


def add(args):
    repo = new_repo(args.dest)
    start = time.perf_counter()
    for i in range(args.ops):
        path = added_path(i)
        commit_file(repo, path, added_contents(i), f"Add {path}")
    seconds = time.perf_counter() - start
    repo.close()
    return seconds


def update(args):
    repo = new_repo(args.dest)
    commit_file(repo, UPDATED_FILE, updated_contents(0), "Create notes")
    start = time.perf_counter()
    for i in range(1, args.ops + 1):
        commit_file(repo, UPDATED_FILE, updated_contents(i), f"Update notes ({i})")
    seconds = time.perf_counter() - start
    repo.close()
    return seconds


def push(args):
    repo = git.Repo(args.dest)
    for remote in repo.remotes:
        if remote.name == "bench":
            repo.delete_remote(remote)
    remote = repo.create_remote("bench", args.url)
    start = time.perf_counter()
    infos = remote.push("refs/heads/main:refs/heads/main")
    seconds = time.perf_counter() - start
    infos.raise_if_error()
    repo.delete_remote(remote)
    repo.close()
    return seconds


WORKLOADS = {"clone": clone, "add": add, "update": update, "push": push}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=WORKLOADS)
    parser.add_argument("dest")
    parser.add_argument("--url", default="")
    parser.add_argument("--ops", type=int, default=200)
    args = parser.parse_args()
    seconds = WORKLOADS[args.workload](args)
    print(json.dumps({"workload": args.workload, "seconds": seconds, "gitpython": git.__version__}))


if __name__ == "__main__":
    main()
