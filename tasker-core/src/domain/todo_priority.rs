//! [`TodoPriority`].

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use super::FieldError;

/// How urgent a todo is: `low`, `medium` (the default) or `high`.
///
/// Priorities are ordered by meaning (`low` < `medium` < `high`), which is how
/// the list sorts them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum TodoPriority {
    /// Can wait.
    Low,
    /// The default.
    #[default]
    Medium,
    /// Urgent.
    High,
}

impl TodoPriority {
    /// Every priority, lowest first.
    pub const ALL: [Self; 3] = [Self::Low, Self::Medium, Self::High];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }

    /// Parses a wire name, reporting failures under `field`.
    ///
    /// # Errors
    /// A [`FieldError`] listing the allowed values.
    pub fn parse_field(field: &str, raw: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == raw)
            .ok_or_else(|| FieldError::new(field, "must be one of: low, medium, high"))
    }

    /// The rank stored in the database (1 = low … 3 = high).
    pub fn rank(self) -> i16 {
        self as i16 + 1
    }

    /// The priority with the stored `rank`, if any.
    pub fn from_rank(rank: i16) -> Option<Self> {
        Self::ALL.get(usize::try_from(rank - 1).ok()?).copied()
    }
}

impl FromStr for TodoPriority {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_field("priority", s)
    }
}

impl fmt::Display for TodoPriority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_follows_meaning() {
        assert!(TodoPriority::High.rank() > TodoPriority::Medium.rank());
        assert!(TodoPriority::Medium.rank() > TodoPriority::Low.rank());
        for p in TodoPriority::ALL {
            assert_eq!(TodoPriority::from_rank(p.rank()), Some(p));
        }
        assert_eq!(TodoPriority::from_rank(0), None);
        assert_eq!(TodoPriority::from_rank(4), None);
    }
}
