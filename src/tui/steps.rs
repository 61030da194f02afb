//! Slider steps: a 1-2-5 progression, so a few presses cover 1 to 10,000
//! and each step is a change worth seeing. Past the top is "unlimited".

/// The top of a slider's range; one more step up is unlimited.
pub const TOP: f64 = 10_000.0;

fn ladder(min: f64) -> impl Iterator<Item = f64> {
    let mut decade = min;
    std::iter::from_fn(move || {
        let out = [decade, decade * 2.0, decade * 5.0];
        decade *= 10.0;
        Some(out)
    })
    .flatten()
    .map(|v| (v * 1000.0).round() / 1000.0)
    .take_while(|v| *v <= TOP)
}

/// The next step above `value` (`None` = unlimited, which stays unlimited).
pub fn up(value: Option<f64>, min: f64) -> Option<f64> {
    let v = value?;
    ladder(min).find(|s| *s > v + 1e-9)
}

/// The next step below `value`; from unlimited, the top; never below `min`.
pub fn down(value: Option<f64>, min: f64) -> Option<f64> {
    let Some(v) = value else { return Some(TOP) };
    Some(ladder(min).filter(|s| *s < v - 1e-9).last().unwrap_or(min))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_two_five() {
        assert_eq!(up(Some(1.0), 1.0), Some(2.0));
        assert_eq!(up(Some(2.0), 1.0), Some(5.0));
        assert_eq!(up(Some(5.0), 1.0), Some(10.0));
        assert_eq!(
            up(Some(37.0), 1.0),
            Some(50.0),
            "from a typed value to the next step"
        );
        assert_eq!(up(Some(10_000.0), 1.0), None, "past the top is unlimited");
        assert_eq!(up(None, 1.0), None);
        assert_eq!(down(None, 1.0), Some(10_000.0));
        assert_eq!(down(Some(37.0), 1.0), Some(20.0));
        assert_eq!(down(Some(1.0), 1.0), Some(1.0), "never below the minimum");
        assert_eq!(down(Some(1.0), 0.1), Some(0.5));
        assert_eq!(up(Some(0.1), 0.1), Some(0.2));
    }
}
