#!/usr/bin/env python3
"""One workload of the bench-mq benchmark, run with pika; prints a JSON line.

    pika_bench.py URL WORKLOAD COUNT [--size 100] [--batch 100] [--prefetch 100]

WORKLOAD is confirm-each, confirm-batch, get-ack, consume or unconfirmed (see
bench/README.md). Each run declares a fresh durable queue and deletes it after.
Only the workload itself is timed: not the interpreter start, the connection,
or pre-filling the queue.
"""

import argparse
import json
import sys
import time
import uuid

import pika

PERSISTENT = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent)
POLL_DEADLINE_SECONDS = 120


def publish_confirm_each(channel, queue, count, body, _args):
    """(a) BlockingChannel in confirm mode: each basic_publish waits for its confirm."""
    channel.confirm_delivery()
    for _ in range(count):
        channel.basic_publish("", queue, body, PERSISTENT, mandatory=False)


def publish_unconfirmed(channel, queue, count, body, _args):
    """(e) A channel without confirm_delivery, then wait until the queue holds them all."""
    for _ in range(count):
        channel.basic_publish("", queue, body, PERSISTENT)
    wait_until_queued(channel, queue, count)


def wait_until_queued(channel, queue, count):
    """Polls the queue depth with a passive declare until it reaches count."""
    deadline = time.monotonic() + POLL_DEADLINE_SECONDS
    while True:
        ready = channel.queue_declare(queue, passive=True).method.message_count
        if ready >= count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {ready} of {count} messages reached the queue")
        time.sleep(0.001)


def drain_with_get(channel, queue, count, _body, _args):
    """(c) basic_get one message at a time, basic_ack each."""
    for taken in range(count):
        method, _properties, _body = channel.basic_get(queue, auto_ack=False)
        if method is None:
            raise RuntimeError(f"the queue ran dry after {taken} of {count} messages")
        channel.basic_ack(method.delivery_tag)


def consume_and_ack(channel, queue, count, _body, args):
    """(d) basic_consume with a prefetch window, ack each, stop after count."""
    channel.basic_qos(prefetch_count=args.prefetch)
    acked = 0

    def on_message(ch, method, _properties, _body):
        nonlocal acked
        ch.basic_ack(method.delivery_tag)
        acked += 1
        if acked == count:
            ch.stop_consuming()

    channel.basic_consume(queue, on_message_callback=on_message)
    channel.start_consuming()


def publish_confirm_batches(params, queue, count, body, batch):
    """(b) Publishes `batch` messages, waits until the broker confirmed them
    all, then publishes the next batch.

    A BlockingChannel in confirm mode waits for every single confirm, which
    would make this the same as (a); pika's asynchronous SelectConnection is
    its own way to keep many confirms outstanding. Returns the seconds taken
    from the first publish to the last confirm.
    """
    state = {"sent": 0, "confirmed": 0, "started": None, "finished": None, "error": None}

    def publish_next_batch(channel):
        size = min(batch, count - state["sent"])
        for _ in range(size):
            channel.basic_publish("", queue, body, PERSISTENT)
        state["sent"] += size

    def on_confirm(channel, frame):
        method = frame.method
        if isinstance(method, pika.spec.Basic.Nack):
            state["error"] = f"the broker refused message {method.delivery_tag}"
            channel.connection.close()
            return
        # An ack with `multiple` covers every tag up to its own; the broker
        # confirms one queue's messages in order, so the highest tag is the mark.
        state["confirmed"] = max(state["confirmed"], method.delivery_tag)
        if state["confirmed"] < state["sent"]:
            return
        if state["sent"] < count:
            publish_next_batch(channel)
        else:
            state["finished"] = time.perf_counter()
            channel.connection.close()

    def on_confirm_mode(channel):
        state["started"] = time.perf_counter()
        publish_next_batch(channel)

    def on_channel_open(channel):
        channel.confirm_delivery(
            ack_nack_callback=lambda frame: on_confirm(channel, frame),
            callback=lambda _frame: on_confirm_mode(channel),
        )

    def on_open_error(connection, error):
        state["error"] = f"cannot connect: {error}"
        connection.ioloop.stop()

    connection = pika.SelectConnection(
        params,
        on_open_callback=lambda conn: conn.channel(on_open_callback=on_channel_open),
        on_open_error_callback=on_open_error,
        on_close_callback=lambda conn, _reason: conn.ioloop.stop(),
    )
    connection.ioloop.start()
    if state["error"] or state["finished"] is None:
        raise RuntimeError(state["error"] or "the connection closed before every confirm")
    return state["finished"] - state["started"]


BLOCKING_WORKLOADS = {
    "confirm-each": publish_confirm_each,
    "get-ack": drain_with_get,
    "consume": consume_and_ack,
    "unconfirmed": publish_unconfirmed,
}
PREFILLED = {"get-ack", "consume"}


def prefill(channel, queue, count, body):
    """Fills the queue, untimed: fast unconfirmed publishes, then a depth poll."""
    publish_unconfirmed(channel, queue, count, body, None)


def run_blocking(params, args, queue, body):
    """Runs a BlockingConnection workload on its own channel; returns seconds."""
    connection = pika.BlockingConnection(params)
    try:
        setup = connection.channel()
        if args.workload in PREFILLED:
            prefill(setup, queue, args.count, body)
        channel = connection.channel()
        started = time.perf_counter()
        BLOCKING_WORKLOADS[args.workload](channel, queue, args.count, body, args)
        return time.perf_counter() - started
    finally:
        connection.close()


def run(params, args, queue, body):
    if args.workload == "confirm-batch":
        return publish_confirm_batches(params, queue, args.count, body, args.batch)
    return run_blocking(params, args, queue, body)


def with_fresh_queue(params, queue, action):
    """Declares the durable queue, runs action, and deletes the queue even on failure."""
    connection = pika.BlockingConnection(params)
    try:
        connection.channel().queue_declare(queue, durable=True)
        return action()
    finally:
        connection.channel().queue_delete(queue)
        connection.close()


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("workload", choices=sorted([*BLOCKING_WORKLOADS, "confirm-batch"]))
    parser.add_argument("count", type=int)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--prefetch", type=int, default=100)
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    params = pika.URLParameters(args.url)
    body = b"x" * args.size
    queue = f"bench-mq.pika.{args.workload}.{uuid.uuid4().hex}"
    seconds = with_fresh_queue(params, queue, lambda: run(params, args, queue, body))
    print(json.dumps({
        "tool": "pika",
        "pika": pika.__version__,
        "workload": args.workload,
        "messages": args.count,
        "seconds": seconds,
        "msgs_per_s": args.count / seconds,
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
