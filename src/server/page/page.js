// The page's only script: submits the graph through the JSON API, waits
// for the result, shows it through <img> (never inlined: an SVG written by
// whoever submitted it must not run in this page), and lists the latest
// jobs from the git history.
"use strict";

const $ = (id) => document.getElementById(id);

function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

function showStatus(text) {
  $("status").textContent = text;
}

function showJob(job) {
  const error = $("error");
  const output = $("output");
  const links = $("links");
  if (job.status === "failed") {
    showStatus(`Job ${job.id} failed.`);
    error.textContent = job.error || "the render failed";
    error.hidden = false;
    output.hidden = true;
  } else if (job.status === "rendered") {
    const where = job.cached ? "from git, not rendered again" : "rendered";
    showStatus(`Job ${job.id}: ${where}.`);
    error.hidden = true;
    if (job.format === "pdf") {
      output.hidden = true;
    } else {
      output.src = job.links.output;
      output.hidden = false;
    }
  } else {
    showStatus(`Job ${job.id} is ${job.status}…`);
    return;
  }
  links.replaceChildren(
    link(job.links.output, "output"), " · ",
    link(job.links.source, "source"),
    ...(job.commit ? [" · ", link("/api/v1/commits/" + job.commit, "commit " + job.commit.slice(0, 12))] : []));
  links.hidden = false;
  loadRecent();
}

async function submit() {
  const button = $("submit");
  button.disabled = true;
  showStatus("Submitting…");
  try {
    const headers = { "Content-Type": "application/json" };
    const token = $("token").value.trim();
    if (token) headers["Authorization"] = "Bearer " + token;
    let response = await fetch("/api/v1/jobs?wait=30", {
      method: "POST",
      headers,
      body: JSON.stringify({ source: $("source").value, format: $("format").value }),
    });
    let job = await response.json();
    if (!response.ok && !job.id) {
      showStatus(`Refused (${response.status}).`);
      $("error").textContent = job.error || response.statusText;
      $("error").hidden = false;
      return;
    }
    while (job.status === "queued" || job.status === "rendering") {
      showJob(job);
      response = await fetch(job.links.self + "?wait=30");
      job = await response.json();
    }
    showJob(job);
  } catch (err) {
    showStatus("The server did not answer: " + err);
  } finally {
    button.disabled = false;
  }
}

async function loadRecent() {
  try {
    const response = await fetch("/api/v1/jobs?limit=20");
    const { jobs } = await response.json();
    $("recent").replaceChildren(...jobs.map((job) => {
      const item = document.createElement("li");
      item.append(
        `${job.id.slice(0, 12)} (${job.format}) `,
        link(job.links.source, "source"), " · ",
        link(job.links.output, "output"), " · ",
        link("/api/v1/commits/" + job.commit, "commit " + job.commit.slice(0, 12)));
      return item;
    }));
  } catch (err) {
    $("recent").replaceChildren("could not load the history: " + err);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("submit").addEventListener("click", submit);
  loadRecent();
});
