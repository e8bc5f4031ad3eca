//! 工单 workflow: the states of a ticket and the one function that decides every move.
//!
//! ```text
//! received 已受理 ──assign──▶ assigned 已转办 ──start──▶ verifying 核实中 ──rectify──▶ rectifying 整改中
//!    │                        ▲   │                          │   │                        │
//!    reject                   │   appeal ─▶ appealing 申诉复核中 ◀─ appeal                     │
//!    ▼                        │               │ uphold ─▶ closed    │ dismiss ─▶ verifying    │
//! rejected 不予受理            │                                     reply                   reply
//!                             reopen (不满意, escalated)              ▼                        ▼
//!                             └──────────────────────────── replied 已答复 ◀──────────────────┘
//!                                                             │ rate 满意/基本满意 (or 7 days silence)
//!                                                             ▼
//!                                          return_visited 已回访 ──close──▶ closed 已办结
//! ```
//!
//! [`decide`] owns the rules: which state a move leaves from and goes to, who may
//! make it, and whether it needs a note. Storage applies the decision with a
//! conditional update on the state it was taken from, so of two concurrent moves one
//! wins and the other gets a conflict.

use serde::{Deserialize, Serialize};

use super::Role;

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum State {
    /// 已受理
    Received,
    /// 已转办: sent to the agency that handles it.
    Assigned,
    /// 核实中
    Verifying,
    /// 整改中
    Rectifying,
    /// 已答复: the reporter has been answered and may rate the handling.
    Replied,
    /// 已回访: the reporter's rating is in (or deemed given).
    ReturnVisited,
    /// 已办结
    Closed,
    /// 不予受理
    Rejected,
    /// 申诉复核中: the agency contests the complaint as mistaken or malicious.
    Appealing,
}

impl State {
    pub const ALL: [State; 9] = [
        State::Received,
        State::Assigned,
        State::Verifying,
        State::Rectifying,
        State::Replied,
        State::ReturnVisited,
        State::Closed,
        State::Rejected,
        State::Appealing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Received => "received",
            State::Assigned => "assigned",
            State::Verifying => "verifying",
            State::Rectifying => "rectifying",
            State::Replied => "replied",
            State::ReturnVisited => "return_visited",
            State::Closed => "closed",
            State::Rejected => "rejected",
            State::Appealing => "appealing",
        }
    }

    pub fn parse(raw: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The label a reporter reads for their own ticket: once they rated the reply it
    /// is 已评价 with the rating (已回访 would say someone called them), else
    /// [`State::label`].
    pub fn label_for_reporter(self, rating: Option<&str>) -> String {
        match (self, rating) {
            (State::ReturnVisited, Some(r)) => format!("已评价（{r}）"),
            _ => self.label().to_owned(),
        }
    }

    /// The Chinese label shown to reporters.
    pub fn label(self) -> &'static str {
        match self {
            State::Received => "已受理",
            State::Assigned => "已转办",
            State::Verifying => "核实中",
            State::Rectifying => "整改中",
            State::Replied => "已答复",
            State::ReturnVisited => "已回访",
            State::Closed => "已办结",
            State::Rejected => "不予受理",
            State::Appealing => "申诉复核中",
        }
    }

    /// States in which the handling side still owes the reporter a reply: these are
    /// overdue once the reply deadline passes.
    pub const AWAITING_REPLY: [State; 5] = [
        State::Received,
        State::Assigned,
        State::Verifying,
        State::Rectifying,
        State::Appealing,
    ];

    /// No further move is possible.
    pub fn is_final(self) -> bool {
        matches!(self, State::Closed | State::Rejected)
    }
}

/// A move on a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Move {
    /// Send to the handling agency (the target agency must be known).
    Assign,
    /// Refuse to accept, with the reason.
    Reject,
    /// The agency starts verifying.
    Start,
    /// Verified; rectification under way.
    Rectify,
    /// Answer the reporter.
    Reply,
    /// The reporter is satisfied or basically satisfied (or said nothing in time).
    Rate,
    /// The reporter is not satisfied: back to assigned, one level up.
    Reopen,
    /// Close after the return visit.
    Close,
    /// The agency contests the complaint (申诉).
    Appeal,
    /// The bureau upholds the appeal: the complaint is closed as unfounded.
    UpholdAppeal,
    /// The bureau dismisses the appeal: the agency goes on verifying.
    DismissAppeal,
}

impl Move {
    /// The name used in the API and the timeline.
    pub fn as_str(self) -> &'static str {
        match self {
            Move::Assign => "assign",
            Move::Reject => "reject",
            Move::Start => "start",
            Move::Rectify => "rectify",
            Move::Reply => "reply",
            Move::Rate => "rate",
            Move::Reopen => "reopen",
            Move::Close => "close",
            Move::Appeal => "appeal",
            Move::UpholdAppeal => "uphold_appeal",
            Move::DismissAppeal => "dismiss_appeal",
        }
    }
}

/// Who makes a move: a key's role, the reporter (through their channel or the
/// ticket's secret), or Pingjia itself (deadlines, deemed ratings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mover {
    Key(Role),
    Reporter,
    System,
}

/// What a permitted move does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub to: State,
    /// The move raises the ticket one level (agency → county bureau → city bureau).
    pub escalates: bool,
}

/// Why a move is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not from this state (HTTP 409).
    #[error("a ticket that is {} cannot be moved by `{:?}`", .from.as_str(), .action)]
    WrongState { from: State, action: Move },
    /// Not by this mover (HTTP 403).
    #[error("{0}")]
    NotAllowed(String),
    /// The move needs a note (HTTP 422).
    #[error("this move needs a note")]
    NoteRequired,
}

struct Rule {
    action: Move,
    from: &'static [State],
    to: State,
    by: &'static [Mover],
    note_required: bool,
    escalates: bool,
}

const BUREAU: Mover = Mover::Key(Role::Bureau);
const ADMIN: Mover = Mover::Key(Role::Admin);
const AGENCY: Mover = Mover::Key(Role::Agency);

/// The whole workflow. Admin keys may do what bureaus do.
const RULES: &[Rule] = &[
    Rule {
        action: Move::Assign,
        from: &[State::Received],
        to: State::Assigned,
        by: &[BUREAU, ADMIN],
        note_required: false,
        escalates: false,
    },
    Rule {
        action: Move::Reject,
        from: &[State::Received],
        to: State::Rejected,
        by: &[BUREAU, ADMIN],
        note_required: true,
        escalates: false,
    },
    Rule {
        action: Move::Start,
        from: &[State::Assigned],
        to: State::Verifying,
        by: &[AGENCY, BUREAU, ADMIN],
        note_required: false,
        escalates: false,
    },
    Rule {
        action: Move::Rectify,
        from: &[State::Verifying],
        to: State::Rectifying,
        by: &[AGENCY, BUREAU, ADMIN],
        note_required: true,
        escalates: false,
    },
    Rule {
        action: Move::Reply,
        from: &[State::Verifying, State::Rectifying],
        to: State::Replied,
        by: &[AGENCY, BUREAU, ADMIN],
        note_required: true,
        escalates: false,
    },
    Rule {
        action: Move::Rate,
        from: &[State::Replied],
        to: State::ReturnVisited,
        by: &[
            Mover::Reporter,
            Mover::Key(Role::Channel),
            BUREAU,
            ADMIN,
            Mover::System,
        ],
        note_required: false,
        escalates: false,
    },
    Rule {
        action: Move::Reopen,
        from: &[State::Replied],
        to: State::Assigned,
        by: &[Mover::Reporter, Mover::Key(Role::Channel), BUREAU, ADMIN],
        note_required: false,
        escalates: true,
    },
    Rule {
        action: Move::Close,
        from: &[State::ReturnVisited],
        to: State::Closed,
        by: &[BUREAU, ADMIN, Mover::System],
        note_required: false,
        escalates: false,
    },
    Rule {
        action: Move::Appeal,
        from: &[State::Assigned, State::Verifying],
        to: State::Appealing,
        by: &[AGENCY],
        note_required: true,
        escalates: false,
    },
    Rule {
        action: Move::UpholdAppeal,
        from: &[State::Appealing],
        to: State::Closed,
        by: &[BUREAU, ADMIN],
        note_required: true,
        escalates: false,
    },
    Rule {
        action: Move::DismissAppeal,
        from: &[State::Appealing],
        to: State::Verifying,
        by: &[BUREAU, ADMIN],
        note_required: true,
        escalates: false,
    },
];

fn mover_name(m: Mover) -> String {
    match m {
        Mover::Key(role) => format!("{} keys", role.as_str()),
        Mover::Reporter => "the reporter".into(),
        Mover::System => "Pingjia".into(),
    }
}

/// Decides a move: the target state, or why not. A note counts when it has
/// non-blank text.
pub fn decide(
    from: State,
    action: Move,
    by: Mover,
    note: Option<&str>,
) -> Result<Decision, Refusal> {
    let rule = RULES
        .iter()
        .find(|r| r.action == action)
        .filter(|r| r.from.contains(&from))
        .ok_or(Refusal::WrongState { from, action })?;
    if !rule.by.contains(&by) {
        let allowed: Vec<String> = rule.by.iter().copied().map(mover_name).collect();
        return Err(Refusal::NotAllowed(format!(
            "`{action:?}` is for {} only, not {}",
            allowed.join(", "),
            mover_name(by)
        )));
    }
    if rule.note_required && note.is_none_or(|n| n.trim().is_empty()) {
        return Err(Refusal::NoteRequired);
    }
    Ok(Decision {
        to: rule.to,
        escalates: rule.escalates,
    })
}

/// The moves `by` may make from `from` (for clients to offer).
pub fn moves_from(from: State, by: Mover) -> Vec<Move> {
    RULES
        .iter()
        .filter(|r| r.from.contains(&from) && r.by.contains(&by))
        .map(|r| r.action)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: Option<&str> = Some("已核实");

    #[test]
    fn the_happy_path_runs_from_received_to_closed() {
        let steps = [
            (State::Received, Move::Assign, BUREAU, State::Assigned),
            (State::Assigned, Move::Start, AGENCY, State::Verifying),
            (State::Verifying, Move::Rectify, AGENCY, State::Rectifying),
            (State::Rectifying, Move::Reply, AGENCY, State::Replied),
            (
                State::Replied,
                Move::Rate,
                Mover::Reporter,
                State::ReturnVisited,
            ),
            (State::ReturnVisited, Move::Close, BUREAU, State::Closed),
        ];
        for (from, action, by, to) in steps {
            let d = decide(from, action, by, NOTE).expect("allowed");
            assert_eq!(d.to, to, "{action:?}");
            assert!(!d.escalates);
        }
    }

    #[test]
    fn an_unsatisfied_reporter_reopens_and_escalates() {
        let d = decide(State::Replied, Move::Reopen, Mover::Reporter, None).expect("reopen");
        assert_eq!(d.to, State::Assigned);
        assert!(d.escalates);
        // Silence is deemed 基本满意: Pingjia rates, but never reopens.
        assert_eq!(
            decide(State::Replied, Move::Rate, Mover::System, None).map(|d| d.to),
            Ok(State::ReturnVisited)
        );
        assert!(matches!(
            decide(State::Replied, Move::Reopen, Mover::System, None),
            Err(Refusal::NotAllowed(_))
        ));
    }

    #[test]
    fn appeals_are_the_agencys_and_the_bureau_decides() {
        for from in [State::Assigned, State::Verifying] {
            assert_eq!(
                decide(from, Move::Appeal, AGENCY, Some("恶意投诉，有录像为证")).map(|d| d.to),
                Ok(State::Appealing)
            );
        }
        assert_eq!(
            decide(State::Verifying, Move::Appeal, AGENCY, None),
            Err(Refusal::NoteRequired)
        );
        assert!(matches!(
            decide(State::Appealing, Move::UpholdAppeal, AGENCY, NOTE),
            Err(Refusal::NotAllowed(_))
        ));
        assert_eq!(
            decide(State::Appealing, Move::UpholdAppeal, BUREAU, NOTE).map(|d| d.to),
            Ok(State::Closed)
        );
        assert_eq!(
            decide(State::Appealing, Move::DismissAppeal, BUREAU, NOTE).map(|d| d.to),
            Ok(State::Verifying)
        );
    }

    #[test]
    fn rejection_is_only_at_intake_and_needs_a_reason() {
        assert_eq!(
            decide(State::Received, Move::Reject, BUREAU, Some("  ")),
            Err(Refusal::NoteRequired)
        );
        assert_eq!(
            decide(
                State::Received,
                Move::Reject,
                BUREAU,
                Some("不属于行政执法监督范围")
            )
            .map(|d| d.to),
            Ok(State::Rejected)
        );
        assert_eq!(
            decide(State::Assigned, Move::Reject, BUREAU, NOTE),
            Err(Refusal::WrongState {
                from: State::Assigned,
                action: Move::Reject
            })
        );
    }

    #[test]
    fn final_states_allow_no_move_and_every_other_state_has_one() {
        let movers = [
            ADMIN,
            BUREAU,
            AGENCY,
            Mover::Key(Role::Channel),
            Mover::Key(Role::Evaluator),
            Mover::Reporter,
            Mover::System,
        ];
        for from in State::ALL {
            let any: usize = movers.iter().map(|m| moves_from(from, *m).len()).sum();
            assert_eq!(any == 0, from.is_final(), "{from:?}");
        }
        // Evaluator keys never move tickets.
        for from in State::ALL {
            assert!(moves_from(from, Mover::Key(Role::Evaluator)).is_empty());
        }
    }

    #[test]
    fn move_names_are_their_serde_names() {
        for r in RULES {
            assert_eq!(
                serde_json::to_value(r.action).expect("json"),
                serde_json::json!(r.action.as_str())
            );
        }
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
            assert!(!s.label().is_empty());
        }
        assert_eq!(State::parse("done"), None);
    }
}
