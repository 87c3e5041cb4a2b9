//! The dashboard on a fleet run (`check --org`): the Overview lists the
//! accounts with their worst finding; Enter opens one account in the usual
//! panels (its round's answers are replayed into them); Esc on that
//! account's Overview goes back to the list.
//!
//! State only; `ui::fleet` renders it. The hooks in `app.rs` are the
//! `fleet` field and one call at the top of `App::update`.

use eksdoctor_core::finding::Severity;
use eksdoctor_core::fleet::AccountReport;
use eksdoctor_core::snapshot::Probe;

use crate::action::Action;
use crate::app::{App, Panel};
use crate::feed::Feed;

/// One account's row, and what to replay when it is opened.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetAccount {
    pub account_id: String,
    pub account_name: Option<String>,
    /// `None`: the role could not be assumed (nothing was probed).
    pub clusters: Option<usize>,
    /// (error, warning, info).
    pub counts: (usize, usize, usize),
    /// The most severe finding: (severity, rule id, message).
    pub worst: Option<(Severity, String, String)>,
    /// The account's probe answers, in the order the panels take them.
    pub feed: Vec<Feed>,
}

impl FleetAccount {
    /// The row of a report's account, with the feed to replay for it.
    #[must_use]
    pub fn from_report(a: &AccountReport, feed: Vec<Feed>) -> Self {
        Self {
            account_id: a.account_id.clone(),
            account_name: a.account_name.clone(),
            clusters: (a.status == "ok").then(|| a.cluster_count()),
            counts: a.counts(),
            worst: a
                .worst()
                .map(|f| (f.severity, f.rule.to_owned(), f.message.clone())),
            feed,
        }
    }
}

/// The fleet list and which account is open.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FleetView {
    pub accounts: Vec<FleetAccount>,
    pub selected: usize,
    /// The account whose panels are showing.
    pub open: Option<usize>,
    /// Throttled answers the run met (shown in the list's title).
    pub throttles: u64,
}

impl FleetView {
    #[must_use]
    pub fn new(mut accounts: Vec<FleetAccount>, throttles: u64) -> Self {
        // Worst first: errors, then most findings; then by id.
        accounts.sort_by(|a, b| {
            let rank = |x: &FleetAccount| x.worst.as_ref().map_or(3, |w| w.0.rank());
            (rank(a), std::cmp::Reverse(a.counts), &a.account_id).cmp(&(
                rank(b),
                std::cmp::Reverse(b.counts),
                &b.account_id,
            ))
        });
        Self {
            accounts,
            selected: 0,
            open: None,
            throttles,
        }
    }

    /// Whether the Overview shows the account list (no account open).
    #[must_use]
    pub fn listing(&self) -> bool {
        self.open.is_none()
    }
}

impl App {
    /// Show a fleet run: the Overview lists its accounts.
    pub fn set_fleet(&mut self, view: FleetView) {
        self.fleet = Some(view);
        self.panel = Panel::Overview;
        self.done = true;
    }

    /// Open the selected account: clear the panels and replay its answers.
    fn open_account(&mut self, i: usize) {
        let Some(feed) = self
            .fleet
            .as_ref()
            .and_then(|f| f.accounts.get(i))
            .map(|a| a.feed.clone())
        else {
            return;
        };
        self.round += 1;
        self.done = false;
        self.identity = Probe::Pending;
        self.regions.clear();
        self.clusters.clear();
        self.keys = Probe::Pending;
        self.plans.clear();
        self.findings.clear();
        self.cluster_sel = 0;
        self.zoomed = false;
        self.panel = Panel::Overview;
        for f in feed {
            self.apply(self.round, f);
        }
        self.done = true;
        if let Some(fleet) = self.fleet.as_mut() {
            fleet.open = Some(i);
        }
        self.status = Some("Esc: back to the fleet".to_owned());
    }
}

/// The fleet's keys, before `App::update` sees them; `true` when handled.
pub(crate) fn handle(app: &mut App, action: &Action) -> bool {
    let Some(fleet) = app.fleet.as_mut() else {
        return false;
    };
    if matches!(action, Action::Refresh) {
        app.status =
            Some("a fleet run is not probed again from here: run check --org again".to_owned());
        return true;
    }
    if app.help || app.panel != Panel::Overview {
        return false;
    }
    if fleet.listing() {
        let last = fleet.accounts.len().saturating_sub(1);
        let to = |n: i64| {
            let s = i64::try_from(fleet.selected).unwrap_or(0).saturating_add(n);
            usize::try_from(s.max(0)).unwrap_or(0).min(last)
        };
        match action {
            Action::Up => fleet.selected = to(-1),
            Action::Down => fleet.selected = to(1),
            Action::PageUp => fleet.selected = to(-10),
            Action::PageDown => fleet.selected = to(10),
            Action::Top => fleet.selected = 0,
            Action::Bottom => fleet.selected = last,
            Action::Enter => {
                let i = fleet.selected;
                app.open_account(i);
            }
            _ => return false,
        }
        return true;
    }
    // An account is open: Esc on its Overview (nothing else to close) goes back.
    if matches!(action, Action::Back) && !app.zoomed && !app.filtering && !app.editing {
        fleet.open = None;
        app.status = None;
        return true;
    }
    false
}
