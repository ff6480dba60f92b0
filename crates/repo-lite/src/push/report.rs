//! What receive-pack answers after a push: its `report-status`, carried in
//! side-band channel 1 when side-band-64k was asked for, with the remote's
//! messages (hook output, `remote: ...`) in channel 2 and a fatal error in
//! channel 3.

/// At most this much of the remote's messages is kept.
pub(crate) const MESSAGES_CAP: usize = 64 * 1024;
/// At most this much report-status is read.
pub(crate) const REPORT_CAP: usize = 1024 * 1024;

/// One side-band packet: its channel and payload.
pub(crate) fn split_band(line: &[u8]) -> Option<(u8, &[u8])> {
    let (&band, payload) = line.split_first()?;
    Some((band, payload))
}

/// The remote's answer to one reference's command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefStatus {
    Ok,
    Rejected(String),
}

/// A parsed report-status.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Report {
    /// `None` for `unpack ok`, else the remote's reason.
    pub unpack_error: Option<String>,
    pub refs: Vec<(String, RefStatus)>,
}

impl Report {
    /// The status of `reference`, if the remote reported one.
    pub fn status(&self, reference: &str) -> Option<&RefStatus> {
        self.refs
            .iter()
            .find(|(name, _)| name == reference)
            .map(|(_, status)| status)
    }
}

/// Parses report-status lines (`unpack ok`, `ok <ref>`, `ng <ref> <why>`).
pub(crate) fn parse_lines<'a>(lines: impl IntoIterator<Item = &'a [u8]>) -> Report {
    let mut report = Report::default();
    for line in lines {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches('\n');
        if let Some(unpack) = line.strip_prefix("unpack ") {
            report.unpack_error = (unpack != "ok").then(|| unpack.to_owned());
        } else if let Some(reference) = line.strip_prefix("ok ") {
            report.refs.push((reference.to_owned(), RefStatus::Ok));
        } else if let Some(rest) = line.strip_prefix("ng ") {
            let (reference, reason) = rest.split_once(' ').unwrap_or((rest, "rejected"));
            report
                .refs
                .push((reference.to_owned(), RefStatus::Rejected(reason.to_owned())));
        }
    }
    report
}

/// Splits `data` (the concatenated payload of side-band channel 1) into
/// the packet lines it holds, stopping at a flush packet or at data that
/// is not a packet line.
pub(crate) fn packet_lines(mut data: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    while data.len() >= 4 {
        let Some(length) = std::str::from_utf8(&data[..4])
            .ok()
            .and_then(|hex| usize::from_str_radix(hex, 16).ok())
        else {
            break;
        };
        if length == 0 {
            break;
        }
        if length < 4 || length > data.len() {
            break;
        }
        lines.push(&data[4..length]);
        data = &data[length..];
    }
    lines
}

/// The remote's messages, `remote: ` lines as git prints them, capped.
#[derive(Debug, Default)]
pub(crate) struct Messages(String);

impl Messages {
    pub fn push(&mut self, text: &[u8]) {
        let room = MESSAGES_CAP.saturating_sub(self.0.len());
        if room == 0 {
            return;
        }
        let text = String::from_utf8_lossy(&text[..text.len().min(room)]);
        self.0.push_str(&text.replace('\r', "\n"));
    }

    pub fn text(&self) -> String {
        self.0
            .lines()
            .map(str::trim_end)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_in_side_band_packets_is_parsed() {
        let data = b"000eunpack ok\n0017ok refs/heads/main\n0030ng refs/heads/dev pre-receive hook declined\n0000";
        let report = parse_lines(packet_lines(data));
        assert_eq!(report.unpack_error, None);
        assert_eq!(report.status("refs/heads/main"), Some(&RefStatus::Ok));
        assert_eq!(
            report.status("refs/heads/dev"),
            Some(&RefStatus::Rejected("pre-receive hook declined".into()))
        );
        assert_eq!(report.status("refs/heads/other"), None);
    }

    #[test]
    fn truncated_or_foreign_data_stops_the_parse_without_panicking() {
        assert!(packet_lines(b"00").is_empty());
        assert!(packet_lines(b"zzzzunpack ok").is_empty());
        assert!(packet_lines(b"0fffshort").is_empty());
        assert!(packet_lines(b"0002").is_empty());
        let report = parse_lines(packet_lines(b"0013unpack index-pack abnormal exit\n"));
        assert!(report.unpack_error.is_some() || report.refs.is_empty());
    }

    #[test]
    fn messages_are_capped_and_carriage_returns_become_lines() {
        let mut messages = Messages::default();
        messages.push(b"progress 1%\rprogress 2%\rdone\n");
        assert_eq!(messages.text(), "progress 1%\nprogress 2%\ndone");
        for _ in 0..100 {
            messages.push(&[b'x'; 1024]);
        }
        assert!(messages.text().len() <= MESSAGES_CAP);
    }
}
