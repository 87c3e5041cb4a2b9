//! The dashboard's state and the one place it changes: [`App::update`] for
//! what the operator asks, [`App::apply`] for what the probes answer.
//! Rendering (`ui`) only reads it.

use std::collections::BTreeMap;

use eksdoctor_core::access_path::{AccessPath, HopKind, HopState};
use eksdoctor_core::finding::Finding;
use eksdoctor_core::mask::Redactor;
use eksdoctor_core::rules;
pub use eksdoctor_core::snapshot::Access;
use eksdoctor_core::snapshot::{
    AccessKey, AwsAuthRead, CallerIdentity, ClusterProbes, KubeUpdate, KubeUser, Probe, ProbeUpdate,
};

use crate::action::{Action, KeyContext};
use crate::engines::{self, RotationPlan};
use crate::feed::Feed;
use crate::sanitize;
use eksdoctor_core::podid::live::PodCredential;

/// The panels, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Panel {
    /// Every area at a glance; what the dashboard opens on.
    Overview,
    Identity,
    Clusters,
    Keys,
    Endpoints,
    Findings,
    Explain,
}

impl Panel {
    pub const ALL: [Panel; 7] = [
        Self::Overview,
        Self::Identity,
        Self::Clusters,
        Self::Keys,
        Self::Endpoints,
        Self::Findings,
        Self::Explain,
    ];

    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Self::Overview => "Overview",
            Self::Identity => "Identity",
            Self::Clusters => "Clusters",
            Self::Keys => "Keys",
            Self::Endpoints => "Pod credentials",
            Self::Findings => "Findings",
            Self::Explain => "Explain",
        }
    }

    pub(crate) fn index(self) -> usize {
        Self::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

/// The overview's tiles (sections on a small terminal), in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tile {
    Identity,
    Keys,
    Clusters,
    Endpoints,
    Findings,
}

impl Tile {
    pub const ALL: [Tile; 5] = [
        Self::Identity,
        Self::Keys,
        Self::Clusters,
        Self::Endpoints,
        Self::Findings,
    ];

    /// The full panel the tile zooms into.
    #[must_use]
    pub fn panel(self) -> Panel {
        match self {
            Self::Identity => Panel::Identity,
            Self::Keys => Panel::Keys,
            Self::Clusters => Panel::Clusters,
            Self::Endpoints => Panel::Endpoints,
            Self::Findings => Panel::Findings,
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// The overview's focus: a tile, and the selected line in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverviewView {
    pub focus: Tile,
    /// Selected line per tile (clusters and endpoints: a cluster; findings: a finding).
    pub sel: [usize; 5],
}

impl Default for OverviewView {
    fn default() -> Self {
        Self {
            focus: Tile::Clusters,
            sel: [0; 5],
        }
    }
}

impl OverviewView {
    #[must_use]
    pub fn selected(&self, tile: Tile) -> usize {
        self.sel[tile.index()]
    }
}

/// How the dashboard looks and what "now" is (fixed in tests so ages are stable).
#[derive(Debug, Clone)]
pub struct Options {
    pub color: bool,
    pub ascii: bool,
    /// Running the built-in scenario.
    pub demo: bool,
    pub now: jiff::Timestamp,
    /// Rotation age for the key age bars, in days.
    pub rotation_days: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            color: true,
            ascii: false,
            demo: false,
            now: jiff::Timestamp::now(),
            rotation_days: 90,
        }
    }
}

/// Side effects the event loop carries out for the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Start a new probe round (the round number is in `App::round`).
    Refresh,
    /// Put this text on the clipboard (OSC 52).
    Copy(String),
    /// Give the terminal back and stop (Ctrl-Z).
    Suspend,
    /// Ask the account about this Explain text (`explain --live`); the
    /// answer comes back as `Feed::ExplainLive` with the same `request`.
    ExplainLive { request: u64, text: String },
}

/// Where the live answer to the Explain box stands (`explain --live`,
/// when the dashboard is live or in the demo).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum LiveExplain {
    /// Not live, or the text holds no denial to ask about.
    #[default]
    Off,
    /// A request is in flight (the offline answer is shown meanwhile).
    Asking,
    /// The findings shown are the live ones.
    Answered { reads: usize },
    /// No denial names an IAM user or role, an action and a resource.
    NothingToAsk,
    /// The live check could not run; the offline answer stays.
    Failed { message: String },
}

/// One live request in flight, the newest text queued: a text typed or
/// pasted while a request runs replaces any older one waiting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct LiveQueue {
    next: u64,
    in_flight: Option<u64>,
    queued: Option<String>,
}

/// Everything known about one cluster: core's one model of its answers
/// (AWS and Kubernetes: `check` and its JSON read the same), plus the marks
/// the tables draw.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterState {
    pub probes: ClusterProbes,
    /// Which credentials each workload gets, when read live.
    pub pods: Option<Probe<Vec<PodCredential>>>,
    /// The access path's mapping hop and last hop (console / kubectl), kept
    /// up to date as data arrives so a frame never rebuilds every path.
    pub marks: (HopState, HopState),
}

impl std::ops::Deref for ClusterState {
    type Target = ClusterProbes;
    fn deref(&self) -> &ClusterProbes {
        &self.probes
    }
}

impl std::ops::DerefMut for ClusterState {
    fn deref_mut(&mut self) -> &mut ClusterProbes {
        &mut self.probes
    }
}

impl ClusterState {
    fn new(region: &str, name: &str) -> Self {
        Self {
            probes: ClusterProbes::new(region, name),
            pods: None,
            marks: (HopState::Pending, HopState::Pending),
        }
    }

    fn remark(&mut self, identity: &Probe<CallerIdentity>, findings: &[Finding], settled: bool) {
        let p = self.path(identity, findings, settled);
        let state = |k: HopKind| {
            p.hops
                .iter()
                .find(|h| h.hop == k)
                .map_or(HopState::Unknown, |h| h.state)
        };
        let mapping = state(HopKind::Mapping);
        let mut reach = state(HopKind::Reach);
        // Blocked behind an unknown mapping is unknown, not broken.
        if reach == HopState::Broken && mapping == HopState::Unknown {
            reach = HopState::Unknown;
        }
        self.marks = (mapping, reach);
    }

    /// The access path into this cluster, from what is known now.
    #[must_use]
    pub fn path(
        &self,
        identity: &Probe<CallerIdentity>,
        findings: &[Finding],
        settled: bool,
    ) -> AccessPath {
        self.probes.path(identity, None, findings, settled)
    }

    /// Any of its probes (AWS or Kubernetes) still in flight.
    fn waiting(&self) -> bool {
        self.probes.pending() || self.probes.kube.pending()
    }
}

/// The findings list's view: selection, filter, detail.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListView {
    pub selected: usize,
    pub detail_open: bool,
    pub detail_scroll: u16,
}

/// The whole dashboard.
#[derive(Debug, Clone)]
pub struct App {
    pub options: Options,
    pub redactor: Redactor,
    pub panel: Panel,
    pub overview: OverviewView,
    /// The panel was opened from the overview (Enter): Esc goes back there.
    pub zoomed: bool,
    pub help: bool,
    pub quit: bool,
    /// The refresh round; feed from other rounds is dropped.
    pub round: u64,
    /// Every probe of the round has answered.
    pub done: bool,
    pub spinner: usize,
    pub status: Option<String>,

    pub identity: Probe<CallerIdentity>,
    pub regions: BTreeMap<String, Probe<Vec<String>>>,
    pub clusters: BTreeMap<(String, String), ClusterState>,
    pub cluster_sel: usize,
    pub keys: Probe<Vec<AccessKey>>,
    pub plans: Vec<RotationPlan>,
    /// How far the Keys panel is scrolled.
    pub keys_scroll: u16,
    pub endpoint_sel: usize,

    /// Sorted by severity, errors first.
    pub findings: Vec<Finding>,
    pub filter: String,
    pub filtering: bool,
    /// Indices into `findings` that pass the filter.
    pub visible: Vec<usize>,
    pub findings_view: ListView,

    /// What was pasted or typed, redacted: the raw text is never kept.
    pub explain_text: String,
    pub explain_findings: Vec<Finding>,
    pub editing: bool,
    pub explain_view: ListView,
    /// The secret-in-input finding of a paste, kept across later edits of
    /// the (already masked) text.
    secret_findings: Vec<Finding>,
    /// Whether Explain also asks the account (live, or the demo's canned
    /// answer); the binary sets it.
    pub explain_live_enabled: bool,
    pub explain_live: LiveExplain,
    live_queue: LiveQueue,

    effects: Vec<Effect>,

    /// A fleet run (`check --org`): the account list, and which is open (crate::fleet).
    pub fleet: Option<crate::fleet::FleetView>,
}

impl App {
    #[must_use]
    pub fn new(options: Options) -> Self {
        Self {
            options,
            redactor: Redactor::new(),
            panel: Panel::Overview,
            overview: OverviewView::default(),
            zoomed: false,
            help: false,
            quit: false,
            round: 0,
            done: false,
            spinner: 0,
            status: None,
            identity: Probe::Pending,
            regions: BTreeMap::new(),
            clusters: BTreeMap::new(),
            cluster_sel: 0,
            keys: Probe::Pending,
            plans: Vec::new(),
            keys_scroll: 0,
            endpoint_sel: 0,
            findings: Vec::new(),
            filter: String::new(),
            filtering: false,
            visible: Vec::new(),
            findings_view: ListView::default(),
            explain_text: String::new(),
            explain_findings: Vec::new(),
            editing: false,
            explain_view: ListView::default(),
            secret_findings: Vec::new(),
            explain_live_enabled: false,
            explain_live: LiveExplain::Off,
            live_queue: LiveQueue::default(),
            effects: Vec::new(),
            fleet: None,
        }
    }

    /// What the keyboard means right now.
    #[must_use]
    pub fn key_context(&self) -> KeyContext {
        if self.help {
            KeyContext::Normal
        } else if self.filtering {
            KeyContext::Filter
        } else if self.editing && self.panel == Panel::Explain {
            KeyContext::Editing
        } else {
            KeyContext::Normal
        }
    }

    /// Effects asked for since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Whether a spinner is on screen (the loop ticks only then).
    #[must_use]
    pub fn animating(&self) -> bool {
        self.panel_pending(Panel::Explain)
            || (!self.done && Panel::ALL.iter().any(|p| self.panel_pending(*p)))
    }

    /// Whether a panel still waits for data.
    #[must_use]
    pub fn panel_pending(&self, panel: Panel) -> bool {
        // The live Explain answer is not part of a probe round.
        if panel == Panel::Explain {
            return self.explain_live == LiveExplain::Asking;
        }
        if self.done {
            return false;
        }
        match panel {
            Panel::Identity => matches!(self.identity, Probe::Pending),
            Panel::Clusters => {
                self.regions.is_empty()
                    || self.regions.values().any(|p| matches!(p, Probe::Pending))
                    || self.clusters.values().any(ClusterState::waiting)
            }
            Panel::Keys => matches!(self.keys, Probe::Pending),
            Panel::Endpoints => {
                self.panel_pending(Panel::Clusters)
                    || self.clusters.values().any(|c| {
                        matches!(c.workloads, Probe::Pending)
                            || matches!(c.pods, Some(Probe::Pending))
                    })
            }
            Panel::Findings => true,
            Panel::Explain => false,
            Panel::Overview => Panel::ALL[1..=4].iter().any(|p| self.panel_pending(*p)),
        }
    }

    /// Advance the spinners.
    pub fn tick(&mut self) {
        self.spinner = self.spinner.wrapping_add(1);
    }

    /// The clusters in display order (by region, then name).
    pub fn cluster_list(&self) -> impl Iterator<Item = &ClusterState> {
        self.clusters.values()
    }

    #[must_use]
    pub fn selected_cluster(&self) -> Option<&ClusterState> {
        self.clusters.values().nth(self.cluster_sel)
    }

    #[must_use]
    pub fn selected_finding(&self) -> Option<&Finding> {
        match self.panel {
            Panel::Explain => self.explain_findings.get(self.explain_view.selected),
            _ => self
                .visible
                .get(self.findings_view.selected)
                .and_then(|i| self.findings.get(*i)),
        }
    }

    /// The selected cluster's access path.
    #[must_use]
    pub fn selected_path(&self) -> Option<AccessPath> {
        self.selected_cluster()
            .map(|c| c.path(&self.identity, &self.findings, self.done))
    }

    /// Whether a tile still waits for data.
    #[must_use]
    pub fn tile_pending(&self, tile: Tile) -> bool {
        match tile {
            Tile::Findings => !self.done,
            t => self.panel_pending(t.panel()),
        }
    }

    /// How many lines a tile can select.
    fn tile_len(&self, tile: Tile) -> usize {
        match tile {
            Tile::Identity | Tile::Keys => 1,
            Tile::Clusters | Tile::Endpoints => self.clusters.len().max(1),
            Tile::Findings => self.findings.len().max(1),
        }
    }

    /// Apply one piece of feed from round `round`.
    pub fn apply(&mut self, round: u64, feed: Feed) {
        let feed = match feed {
            Feed::ExplainLive { request, answer } => {
                self.apply_live(request, answer);
                return;
            }
            other => other,
        };
        if round != self.round {
            return;
        }
        let r = self.redactor.clone();
        let text = |s: &str| sanitize::text(&r, s);
        let touched = match &feed {
            Feed::Probe(u) => u.cluster_key().map(|(r, n)| (r.to_owned(), n.to_owned())),
            Feed::AwsAuthMapping { region, name, .. }
            | Feed::StsWorkloads { region, name, .. }
            | Feed::AwsAuth { region, name, .. }
            | Feed::KubernetesIdentity { region, name, .. }
            | Feed::Rbac { region, name, .. }
            | Feed::PodCredentials { region, name, .. } => Some((region.clone(), name.clone())),
            Feed::ExplainLive { .. } => None,
        };
        self.apply_feed(feed, &text);
        let (identity, findings, settled) = (&self.identity, &self.findings, self.done);
        match touched {
            Some(key) => {
                if let Some(c) = self.clusters.get_mut(&key) {
                    c.remark(identity, findings, settled);
                }
            }
            None => {
                for c in self.clusters.values_mut() {
                    c.remark(identity, findings, settled);
                }
            }
        }
    }

    fn apply_feed(&mut self, feed: Feed, text: &impl Fn(&str) -> String) {
        let r = self.redactor.clone();
        match feed {
            Feed::Probe(update) => {
                if let Some((region, name)) = update.cluster_key() {
                    let (region, name) = (region.to_owned(), name.to_owned());
                    let update = match update {
                        ProbeUpdate::Kubernetes {
                            region,
                            name,
                            update: KubeUpdate::Identity(p),
                        } => ProbeUpdate::Kubernetes {
                            region,
                            name,
                            update: KubeUpdate::Identity(map_probe(p, |mut k| {
                                k.username = text(&k.username);
                                k.arn = k.arn.as_deref().map(text);
                                k.access_key_id = None;
                                k
                            })),
                        },
                        other => other,
                    };
                    self.cluster_mut(&region, &name).apply(update);
                    return;
                }
                match update {
                    ProbeUpdate::Identity(p) => {
                        self.identity = map_probe(p, |mut id| {
                            id.arn = text(&id.arn);
                            id.canonical_arn = text(&id.canonical_arn);
                            id.user_id = text(&id.user_id);
                            id.credential_source = id.credential_source.as_deref().map(text);
                            id
                        });
                    }
                    ProbeUpdate::ClusterList { region, clusters } => {
                        if let Probe::Ready(names) = &clusters {
                            for n in names {
                                self.cluster_mut(&region, n);
                            }
                        }
                        self.regions.insert(region, clusters);
                    }
                    ProbeUpdate::AccessKeys(p) => {
                        if let Probe::Ready(keys) = &p {
                            self.plans = engines::rotation_plans(keys);
                        }
                        self.keys = p;
                    }
                    ProbeUpdate::Findings(fs) => {
                        self.findings
                            .extend(fs.into_iter().map(|f| sanitize::finding(&r, f)));
                        sort_findings(&mut self.findings);
                        self.refilter();
                    }
                    ProbeUpdate::Done => self.done = true,
                    _ => {}
                }
            }
            Feed::AwsAuthMapping {
                region,
                name,
                mapping,
            } => self
                .cluster_mut(&region, &name)
                .apply_kube(KubeUpdate::AwsAuth(map_probe_into(mapping, |m| {
                    AwsAuthRead {
                        mapping: m,
                        ..AwsAuthRead::default()
                    }
                }))),
            Feed::StsWorkloads {
                region,
                name,
                workloads,
            } => self.cluster_mut(&region, &name).workloads = workloads,
            Feed::AwsAuth {
                region,
                name,
                answer,
            } => self
                .cluster_mut(&region, &name)
                .apply_kube(KubeUpdate::AwsAuth(map_probe_into(answer, |a| {
                    AwsAuthRead {
                        mapping: a.mapping,
                        line: a.line,
                        ..AwsAuthRead::default()
                    }
                }))),
            Feed::KubernetesIdentity {
                region,
                name,
                identity,
            } => self
                .cluster_mut(&region, &name)
                .apply_kube(KubeUpdate::Identity(map_probe_into(identity, |k| {
                    KubeUser {
                        username: text(&k.username),
                        groups: k.groups,
                        ..KubeUser::default()
                    }
                }))),
            Feed::Rbac {
                region,
                name,
                checks,
            } => self
                .cluster_mut(&region, &name)
                .apply_kube(KubeUpdate::Rbac(checks)),
            Feed::PodCredentials {
                region,
                name,
                workloads,
            } => {
                self.cluster_mut(&region, &name).pods = Some(map_probe(workloads, |mut rows| {
                    for r in &mut rows {
                        r.role = r.role.as_deref().map(text);
                        r.reasons = r.reasons.iter().map(|x| text(x)).collect();
                    }
                    rows
                }));
            }
            Feed::ExplainLive { request, answer } => self.apply_live(request, answer),
        }
    }

    /// The live answer to request `request` of the Explain box.
    fn apply_live(&mut self, request: u64, answer: crate::feed::LiveAnswer) {
        use crate::feed::LiveAnswer;
        if self.live_queue.in_flight != Some(request) {
            return;
        }
        self.live_queue.in_flight = None;
        // A newer text waits: this answer is about an older one.
        if let Some(text) = self.live_queue.queued.take() {
            self.send_live(text);
            return;
        }
        // The text changed to one with nothing to ask meanwhile.
        if self.explain_live != LiveExplain::Asking {
            return;
        }
        self.explain_live = match answer {
            LiveAnswer::Answered { findings, reads } => {
                self.show_explained(findings);
                LiveExplain::Answered { reads }
            }
            LiveAnswer::NothingToAsk => LiveExplain::NothingToAsk,
            LiveAnswer::Failed { message } => LiveExplain::Failed {
                message: sanitize::text(&self.redactor, &message),
            },
        };
    }

    /// After the Explain text changed: ask the account about it when it
    /// holds a denial (one request in flight; the newest text queued).
    fn ask_live(&mut self) {
        if !self.explain_live_enabled {
            return;
        }
        let denial = self
            .explain_findings
            .iter()
            .any(|f| f.rule.starts_with("authz/") && f.evidence.contains_key("parsed"));
        if !denial {
            self.explain_live = LiveExplain::Off;
            self.live_queue.queued = None;
            return;
        }
        self.explain_live = LiveExplain::Asking;
        let text = self.explain_text.clone();
        if self.live_queue.in_flight.is_some() {
            self.live_queue.queued = Some(text);
        } else {
            self.send_live(text);
        }
    }

    fn send_live(&mut self, text: String) {
        let request = self.live_queue.next;
        self.live_queue.next += 1;
        self.live_queue.in_flight = Some(request);
        self.effects.push(Effect::ExplainLive { request, text });
    }

    fn cluster_mut(&mut self, region: &str, name: &str) -> &mut ClusterState {
        self.clusters
            .entry((region.to_owned(), name.to_owned()))
            .or_insert_with(|| ClusterState::new(region, name))
    }

    /// Do what the operator asked.
    pub fn update(&mut self, action: Action) {
        // A fleet run's account list takes its keys first (crate::fleet).
        if crate::fleet::handle(self, &action) {
            return;
        }
        if self.help {
            if matches!(action, Action::Back | Action::Help | Action::Quit) {
                self.help = false;
            }
            return;
        }
        match action {
            Action::Quit => self.quit = true,
            Action::Help => self.help = true,
            Action::Suspend => self.effects.push(Effect::Suspend),
            Action::NextPanel if self.panel == Panel::Overview => self.focus_tile(1),
            Action::PrevPanel if self.panel == Panel::Overview => {
                self.focus_tile(Tile::ALL.len() - 1);
            }
            Action::NextPanel => self.go(self.panel.index() + 1),
            Action::PrevPanel => self.go(self.panel.index() + Panel::ALL.len() - 1),
            Action::GoPanel(p) => self.go(p.index()),
            Action::Enter if self.panel == Panel::Overview => self.zoom(),
            Action::Up => self.move_by(-1),
            Action::Down => self.move_by(1),
            Action::PageUp => self.move_by(-10),
            Action::PageDown => self.move_by(10),
            Action::Top => self.move_by(i64::MIN / 2),
            Action::Bottom => self.move_by(i64::MAX / 2),
            Action::Enter if self.filtering => self.filtering = false,
            Action::Enter => {
                if let Some(v) = self.list_view_mut() {
                    v.detail_open = !v.detail_open;
                    v.detail_scroll = 0;
                }
            }
            Action::Back => self.back(),
            Action::Refresh => self.refresh(),
            Action::CopyFix => self.copy_fix(),
            Action::Filter => {
                self.panel = Panel::Findings;
                self.filtering = true;
                self.findings_view.detail_open = false;
            }
            Action::Edit => {
                self.panel = Panel::Explain;
                self.editing = true;
                self.explain_view.detail_open = false;
            }
            Action::Clear => {
                if self.filtering || self.panel == Panel::Findings {
                    self.filter.clear();
                    self.refilter();
                } else if self.panel == Panel::Explain {
                    self.set_explain_text(String::new());
                }
            }
            Action::Char(c) => {
                if self.filtering {
                    self.filter.push(c);
                    self.findings_view.selected = 0;
                    self.refilter();
                } else if self.editing {
                    let mut t = self.explain_text.clone();
                    t.push(c);
                    self.set_explain_text(t);
                }
            }
            Action::Newline => {
                if self.editing {
                    let mut t = self.explain_text.clone();
                    t.push('\n');
                    self.set_explain_text(t);
                }
            }
            Action::Backspace => {
                if self.filtering {
                    self.filter.pop();
                    self.findings_view.selected = 0;
                    self.refilter();
                } else if self.editing {
                    let mut t = self.explain_text.clone();
                    t.pop();
                    self.set_explain_text(t);
                }
            }
            Action::Paste(text) => self.paste(&text),
        }
    }

    fn go(&mut self, index: usize) {
        self.panel = Panel::ALL[index % Panel::ALL.len()];
        self.filtering = false;
        self.editing = false;
        self.zoomed = false;
    }

    fn focus_tile(&mut self, step: usize) {
        let i = (self.overview.focus.index() + step) % Tile::ALL.len();
        self.overview.focus = Tile::ALL[i];
    }

    /// Enter on the overview: the focused tile's full panel, at its selected line.
    fn zoom(&mut self) {
        let tile = self.overview.focus;
        let sel = self.overview.selected(tile);
        match tile {
            Tile::Clusters => self.cluster_sel = sel.min(self.clusters.len().saturating_sub(1)),
            Tile::Endpoints => self.endpoint_sel = sel.min(self.clusters.len().saturating_sub(1)),
            Tile::Findings => {
                self.filter.clear();
                self.refilter();
                self.findings_view.selected = sel.min(self.visible.len().saturating_sub(1));
                self.findings_view.detail_open = false;
            }
            Tile::Identity | Tile::Keys => {}
        }
        self.panel = tile.panel();
        self.zoomed = true;
    }

    fn back(&mut self) {
        if self.filtering {
            self.filtering = false;
            self.filter.clear();
            self.refilter();
        } else if self.editing {
            self.editing = false;
        } else if let Some(v) = self.list_view_mut().filter(|v| v.detail_open) {
            v.detail_open = false;
        } else if self.zoomed {
            self.zoomed = false;
            self.panel = Panel::Overview;
        } else {
            self.quit = true;
        }
    }

    fn list_view_mut(&mut self) -> Option<&mut ListView> {
        match self.panel {
            Panel::Findings => Some(&mut self.findings_view),
            Panel::Explain => Some(&mut self.explain_view),
            _ => None,
        }
    }

    fn move_by(&mut self, delta: i64) {
        let step = |sel: usize, len: usize| -> usize {
            if len == 0 {
                return 0;
            }
            let target = i64::try_from(sel).unwrap_or(0).saturating_add(delta);
            usize::try_from(target.clamp(0, i64::try_from(len - 1).unwrap_or(0))).unwrap_or(0)
        };
        match self.panel {
            Panel::Identity => {}
            Panel::Overview => self.overview_move(delta),
            Panel::Clusters => self.cluster_sel = step(self.cluster_sel, self.clusters.len()),
            Panel::Keys => {
                let s = i64::from(self.keys_scroll)
                    .saturating_add(delta)
                    .clamp(0, 500);
                self.keys_scroll = u16::try_from(s).unwrap_or(0);
            }
            Panel::Endpoints => self.endpoint_sel = step(self.endpoint_sel, self.clusters.len()),
            Panel::Findings | Panel::Explain => {
                let len = if self.panel == Panel::Findings {
                    self.visible.len()
                } else {
                    self.explain_findings.len()
                };
                if let Some(v) = self.list_view_mut() {
                    if v.detail_open {
                        let s = i64::from(v.detail_scroll)
                            .saturating_add(delta)
                            .clamp(0, 500);
                        v.detail_scroll = u16::try_from(s).unwrap_or(0);
                    } else {
                        v.selected = step(v.selected, len);
                    }
                }
            }
        }
    }

    /// j/k on the overview: the next line of the focused tile; past its
    /// last line, the next tile (so on a small terminal the lines read as one list).
    fn overview_move(&mut self, delta: i64) {
        let tile = self.overview.focus;
        let len = i64::try_from(self.tile_len(tile)).unwrap_or(i64::MAX);
        let cur = i64::try_from(self.overview.selected(tile)).unwrap_or(0);
        let target = cur.saturating_add(delta);
        let ti = tile.index();
        if (delta == 1 && target >= len) || (delta == -1 && target < 0) {
            let next = if delta == 1 {
                (ti + 1) % Tile::ALL.len()
            } else {
                (ti + Tile::ALL.len() - 1) % Tile::ALL.len()
            };
            let nt = Tile::ALL[next];
            self.overview.focus = nt;
            self.overview.sel[next] = if delta == 1 { 0 } else { self.tile_len(nt) - 1 };
            return;
        }
        self.overview.sel[ti] = usize::try_from(target.clamp(0, len - 1)).unwrap_or(0);
    }

    fn refresh(&mut self) {
        self.round += 1;
        self.done = false;
        self.identity = Probe::Pending;
        self.regions.clear();
        self.clusters.clear();
        self.keys = Probe::Pending;
        self.plans.clear();
        self.findings.clear();
        self.refilter();
        self.status = Some("refreshing: probing again".to_owned());
        self.effects.push(Effect::Refresh);
    }

    fn copy_fix(&mut self) {
        let on_clusters = self.panel == Panel::Clusters
            || (self.panel == Panel::Overview && self.overview.focus == Tile::Clusters);
        if on_clusters {
            self.copy_path_fix();
            return;
        }
        let finding = if self.panel == Panel::Overview {
            self.findings.get(self.overview.selected(Tile::Findings))
        } else {
            self.selected_finding()
        };
        let Some(f) = finding else {
            self.status = Some("no finding selected".to_owned());
            return;
        };
        match fix_text(f) {
            Some(t) => {
                let t = sanitize::text(&self.redactor, &t);
                self.status = Some(format!(
                    "fix for {} copied to the clipboard (OSC 52)",
                    f.rule
                ));
                self.effects.push(Effect::Copy(t));
            }
            None => self.status = Some(format!("{} has no fix to copy", f.rule)),
        }
    }

    /// `c` on a cluster: the fix of its access path's first broken hop.
    fn copy_path_fix(&mut self) {
        if self.panel == Panel::Overview {
            self.cluster_sel = self
                .overview
                .selected(Tile::Clusters)
                .min(self.clusters.len().saturating_sub(1));
        }
        let Some(path) = self.selected_path() else {
            self.status = Some("no cluster selected".to_owned());
            return;
        };
        let Some(hop) = path.broken_hop() else {
            self.status = Some(format!("{}: no broken hop, nothing to fix", path.cluster));
            return;
        };
        let text = hop.fix.as_ref().and_then(fix_body);
        match text {
            Some(t) => {
                let t = sanitize::text(&self.redactor, &t);
                self.status = Some(format!(
                    "fix for {} ({}) copied to the clipboard (OSC 52)",
                    hop.label, path.cluster
                ));
                self.effects.push(Effect::Copy(t));
            }
            None => self.status = Some(format!("{} has no fix to copy", hop.label)),
        }
    }

    fn paste(&mut self, text: &str) {
        if self.filtering {
            self.filter
                .push_str(text.lines().next().unwrap_or_default());
            self.refilter();
            return;
        }
        self.panel = Panel::Explain;
        self.explain_view = ListView::default();
        let raw = if self.editing {
            format!("{}{text}", self.explain_text)
        } else {
            text.to_owned()
        };
        // The raw text is diagnosed once, here; only its masked form is kept.
        let explained = engines::explain(&raw);
        for id in &explained.tainted {
            self.redactor.taint(id);
        }
        sanitize::taint_paired_key_ids(&mut self.redactor, &raw);
        let masked = sanitize::text(&self.redactor, &raw);
        self.secret_findings = explained
            .findings
            .iter()
            .filter(|f| f.rule == rules::KEYS_SECRET_IN_INPUT.id)
            .map(|f| sanitize::finding(&self.redactor, f.clone()))
            .collect();
        if masked != raw && self.secret_findings.is_empty() {
            self.secret_findings.push(
                Finding::new(
                    rules::KEYS_SECRET_IN_INPUT,
                    "The pasted text held a secret access key or session token: it is masked; rotate the key",
                )
                .detail("A secret that was pasted into a terminal may be in scrollback, logs or shell history. Treat it as exposed: create a new key, switch to it, and delete this one."),
            );
        }
        self.explain_text = masked;
        self.show_explained(explained.findings);
        self.ask_live();
    }

    /// Put text in the Explain box without leaving the current panel (the
    /// demo's waiting denial).
    pub fn preload_explain(&mut self, text: &str) {
        let panel = self.panel;
        self.paste(text);
        self.panel = panel;
    }

    fn set_explain_text(&mut self, text: String) {
        self.explain_text = sanitize::text(&self.redactor, &text);
        if text.is_empty() {
            self.secret_findings.clear();
        }
        self.rerun_explain();
        self.ask_live();
    }

    fn rerun_explain(&mut self) {
        let explained = engines::explain(&self.explain_text);
        for id in &explained.tainted {
            self.redactor.taint(id);
        }
        self.show_explained(explained.findings);
    }

    fn show_explained(&mut self, findings: Vec<Finding>) {
        let mut fs: Vec<Finding> = findings
            .into_iter()
            .map(|f| sanitize::finding(&self.redactor, f))
            .collect();
        for s in &self.secret_findings {
            if !fs.iter().any(|f| f.rule == s.rule) {
                fs.push(s.clone());
            }
        }
        sort_findings(&mut fs);
        self.explain_findings = fs;
        let n = self.explain_findings.len();
        if self.explain_view.selected >= n {
            self.explain_view.selected = n.saturating_sub(1);
        }
    }

    fn refilter(&mut self) {
        let needle = self.filter.to_lowercase();
        self.visible = self
            .findings
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                needle.is_empty()
                    || f.rule.contains(&needle)
                    || f.severity.as_str().contains(&needle)
                    || f.message.to_lowercase().contains(&needle)
            })
            .map(|(i, _)| i)
            .collect();
        if self.findings_view.selected >= self.visible.len() {
            self.findings_view.selected = self.visible.len().saturating_sub(1);
        }
    }
}

/// Errors first, then by rule id, then message.
pub fn sort_findings(fs: &mut [Finding]) {
    fs.sort_by(|a, b| {
        (a.severity.rank(), a.rule, &a.message).cmp(&(b.severity.rank(), b.rule, &b.message))
    });
}

/// What a fix puts on the clipboard: the commands, else the policy, else
/// the replacement, else the summary.
#[must_use]
pub fn fix_text(f: &Finding) -> Option<String> {
    fix_body(f.fix.as_ref()?)
}

/// What a fix puts on the clipboard (see [`fix_text`]).
#[must_use]
pub fn fix_body(fix: &eksdoctor_core::finding::Fix) -> Option<String> {
    if !fix.commands.is_empty() {
        return Some(fix.commands.join("\n"));
    }
    if let Some(p) = &fix.policy {
        return serde_json::to_string_pretty(p).ok();
    }
    if let Some(r) = &fix.replacement {
        return Some(r.clone());
    }
    (!fix.summary.is_empty()).then(|| fix.summary.clone())
}

fn map_probe_into<T, U>(p: Probe<T>, f: impl FnOnce(T) -> U) -> Probe<U> {
    match p {
        Probe::Ready(t) => Probe::Ready(f(t)),
        Probe::Pending => Probe::Pending,
        Probe::Denied { permission } => Probe::Denied { permission },
        Probe::TimedOut => Probe::TimedOut,
        Probe::Failed { message } => Probe::Failed { message },
    }
}

fn map_probe<T>(p: Probe<T>, f: impl FnOnce(T) -> T) -> Probe<T> {
    match p {
        Probe::Ready(t) => Probe::Ready(f(t)),
        Probe::Pending => Probe::Pending,
        Probe::Denied { permission } => Probe::Denied { permission },
        Probe::TimedOut => Probe::TimedOut,
        Probe::Failed { message } => Probe::Failed { message },
    }
}
