//! [`TodoStatus`].

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::FieldError;

/// Where a todo is in its life: `draft` (the default), `active`, `completed`, `archived`.
///
/// Statuses are ordered by that life cycle, which is also how the list sorts them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TodoStatus {
    /// Written down, not started.
    #[default]
    Draft,
    /// Being worked on.
    Active,
    /// Done; `completedAt` is set.
    Completed,
    /// Put away; auto-archive moves completed todos here after a while.
    Archived,
}

impl TodoStatus {
    /// Every status, in life-cycle order.
    pub const ALL: [Self; 4] = [Self::Draft, Self::Active, Self::Completed, Self::Archived];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Active => "active",
            Self::Completed => "completed",
            Self::Archived => "archived",
        }
    }

    /// Parses a wire name, reporting failures under `field`.
    ///
    /// # Errors
    /// A [`FieldError`] listing the allowed values.
    pub fn parse_field(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                FieldError::new(field, "must be one of: draft, active, completed, archived")
            })
    }

    /// The rank stored in the database (0–3, life-cycle order).
    pub fn rank(self) -> i16 {
        self as i16
    }

    /// The status with the stored `rank`, if any.
    pub fn from_rank(rank: i16) -> Option<Self> {
        Self::ALL.get(usize::try_from(rank).ok()?).copied()
    }

    /// Whether a todo in this status can be overdue (it is not completed or archived).
    pub fn is_open(self) -> bool {
        matches!(self, Self::Draft | Self::Active)
    }
}

impl FromStr for TodoStatus {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_field("status", s)
    }
}

impl fmt::Display for TodoStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_round_trips_and_orders_by_life_cycle() {
        for s in TodoStatus::ALL {
            assert_eq!(TodoStatus::from_rank(s.rank()), Some(s));
            assert_eq!(s.as_str().parse::<TodoStatus>().unwrap(), s);
        }
        assert_eq!(TodoStatus::from_rank(4), None);
        assert_eq!(TodoStatus::from_rank(-1), None);
        assert!("Done".parse::<TodoStatus>().is_err());
    }
}
