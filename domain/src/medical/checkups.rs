//! Specific health checkups (特定健診) for ages 40–74: one a year on the person's usual date, up to 5
//! years back, results arriving about two months later. Each person has a constitution (height,
//! build, blood pressure, glucose and lipid tendencies) that drifts slowly, so the values are
//! plausible and consistent from year to year; BMI is computed from height and weight.

use crate::age;
use crate::date::Date;
use crate::population::{Rng, Stream};
use crate::qualification::PersonId;

/// Results reach the system about this long after the checkup.
pub const LAG_DAYS: i64 = 60;
/// How far back checkups are kept.
pub const HISTORY_YEARS: i32 = 5;

/// One checkup item: JLAC10-style code, name, value and unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckupItem {
    pub code: &'static str,
    pub name: &'static str,
    pub value: String,
    pub unit: &'static str,
}

/// One checkup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkup {
    pub date: Date,
    pub institution_name: &'static str,
    pub items: Vec<CheckupItem>,
}

const INSTITUTIONS: &[&str] =
    &["オンシ健診センター", "みなと健康管理クリニック", "さくら総合健診プラザ", "中央健康増進センター"];

/// A person's constitution: the baseline that the yearly values vary around.
struct Constitution {
    height_cm: f64,
    bmi: f64,
    bmi_drift_per_year: f64,
    sbp: f64,
    dbp_gap: f64,
    hba1c: f64,
    uses_fasting_glucose: bool,
    tg: f64,
    hdl: f64,
    ldl: f64,
    alt: f64,
    ggt: f64,
    month: u8,
    day: u8,
    institution: &'static str,
}

fn normal(r: &mut Rng) -> f64 {
    // Sum of 4 uniforms, scaled to unit variance: close enough to Gaussian for test data.
    let s: f64 = (0..4).map(|_| r.below(1_000_000) as f64 / 1_000_000.0).sum();
    (s - 2.0) * (3.0f64).sqrt()
}

fn constitution(seed: u64, person: PersonId, male: bool) -> Constitution {
    let mut r = Rng::new(seed, Stream::Checkup, person.0);
    let height_cm = if male { 170.5 } else { 157.5 } + 5.8 * normal(&mut r);
    let bmi = (23.0 + 3.2 * normal(&mut r)).clamp(16.5, 38.0);
    Constitution {
        height_cm,
        bmi,
        bmi_drift_per_year: 0.15 * normal(&mut r),
        sbp: (124.0 + 14.0 * normal(&mut r)).clamp(95.0, 185.0),
        dbp_gap: 45.0 + 6.0 * normal(&mut r),
        hba1c: (5.6 + 0.45 * normal(&mut r)).clamp(4.6, 9.5),
        uses_fasting_glucose: r.chance(300),
        tg: (110.0 + 45.0 * normal(&mut r)).clamp(35.0, 450.0),
        hdl: (if male { 55.0 } else { 66.0 } + 13.0 * normal(&mut r)).clamp(28.0, 110.0),
        ldl: (125.0 + 30.0 * normal(&mut r)).clamp(60.0, 230.0),
        alt: (20.0 + 9.0 * normal(&mut r)).clamp(6.0, 120.0),
        ggt: (if male { 38.0 } else { 22.0 } + 15.0 * normal(&mut r)).clamp(8.0, 250.0),
        month: r.between(5, 11) as u8,
        day: r.between(1, 28) as u8,
        institution: INSTITUTIONS[r.below(INSTITUTIONS.len() as u64) as usize],
    }
}

fn item(code: &'static str, name: &'static str, value: String, unit: &'static str) -> CheckupItem {
    CheckupItem { code, name, value, unit }
}

fn urine(r: &mut Rng, per_mille_positive: u64) -> String {
    if r.chance(per_mille_positive) { if r.chance(500) { "±" } else { "＋" } } else { "－" }.to_owned()
}

/// Checkups from `from` to `to` inclusive visible on `today` (older than the lag, within 5 years),
/// oldest first. Only checkups taken at ages 40–74 exist.
pub fn history(
    seed: u64,
    person: PersonId,
    birth: Date,
    male: bool,
    today: Date,
    from: Date,
    to: Date,
) -> Vec<Checkup> {
    let c = constitution(seed, person, male);
    let visible_from = today.add_years(-HISTORY_YEARS).unwrap_or(today);
    let visible_to = today.add_days(-LAG_DAYS).unwrap_or(today);
    let mut out = Vec::new();
    for year in visible_from.year()..=visible_to.year() {
        let Some(date) = Date::new(year, c.month, c.day) else { continue };
        if date < visible_from || date > visible_to || date < from || date > to {
            continue;
        }
        let age = age::age_on(birth, date);
        if !(40..=74).contains(&age) {
            continue;
        }
        // Each year's measurement noise is its own draw, so a year's values never change.
        let mut r = Rng::new(seed, Stream::Checkup, person.0 ^ (u64::from(year) << 44));
        let years_from_40 = f64::from(age) - 40.0;
        let height = c.height_cm - 0.05 * years_from_40.max(0.0) + 0.2 * normal(&mut r);
        let bmi = (c.bmi + c.bmi_drift_per_year * years_from_40 + 0.35 * normal(&mut r)).clamp(15.0, 45.0);
        let weight = bmi * (height / 100.0).powi(2);
        let bmi = weight / (height / 100.0).powi(2);
        let waist = (bmi * 3.4 + if male { 4.0 } else { -1.0 } + 1.5 * normal(&mut r)).max(55.0);
        let sbp = (c.sbp + 0.45 * years_from_40 + 6.0 * normal(&mut r)).round();
        let dbp = (sbp - c.dbp_gap + 3.0 * normal(&mut r)).clamp(45.0, 120.0).round();
        let hba1c = c.hba1c + 0.015 * years_from_40 + 0.12 * normal(&mut r);
        let mut items = vec![
            item("9N001000000000001", "身長", format!("{height:.1}"), "cm"),
            item("9N006000000000001", "体重", format!("{weight:.1}"), "kg"),
            item("9N011000000000001", "BMI", format!("{bmi:.1}"), "kg/m2"),
            item("9N016160100000001", "腹囲", format!("{waist:.1}"), "cm"),
            item("9A751000000000001", "収縮期血圧", format!("{sbp:.0}"), "mmHg"),
            item("9A761000000000001", "拡張期血圧", format!("{dbp:.0}"), "mmHg"),
        ];
        if c.uses_fasting_glucose {
            let glucose = (hba1c * 28.7 - 46.7 + 6.0 * normal(&mut r)).round();
            items.push(item("3D010000001926101", "空腹時血糖", format!("{glucose:.0}"), "mg/dl"));
        } else {
            items.push(item("3D046000001906202", "HbA1c（NGSP値）", format!("{hba1c:.1}"), "%"));
        }
        let tg = (c.tg * (1.0 + 0.15 * normal(&mut r))).round().max(20.0);
        let hdl = (c.hdl + 4.0 * normal(&mut r)).round();
        let ldl = (c.ldl + 0.4 * years_from_40 + 10.0 * normal(&mut r)).round();
        let alt = (c.alt * (1.0 + 0.15 * normal(&mut r))).round().max(4.0);
        let ast = (alt * 0.8 + 8.0 + 3.0 * normal(&mut r)).round().max(8.0);
        let ggt = (c.ggt * (1.0 + 0.2 * normal(&mut r))).round().max(5.0);
        items.extend([
            item("3F015000002327101", "中性脂肪（トリグリセリド）", format!("{tg:.0}"), "mg/dl"),
            item("3F070000002327101", "HDLコレステロール", format!("{hdl:.0}"), "mg/dl"),
            item("3F077000002327101", "LDLコレステロール", format!("{ldl:.0}"), "mg/dl"),
            item("3B035000002327201", "AST（GOT）", format!("{ast:.0}"), "U/L"),
            item("3B045000002327201", "ALT（GPT）", format!("{alt:.0}"), "U/L"),
            item("3B090000002327101", "γ-GT（γ-GTP）", format!("{ggt:.0}"), "U/L"),
            item("1A020000000190111", "尿糖", urine(&mut r, if hba1c > 7.0 { 400 } else { 20 }), ""),
            item("1A010000000190111", "尿蛋白", urine(&mut r, if sbp > 150.0 { 200 } else { 40 }), ""),
        ]);
        out.push(Checkup { date, institution_name: c.institution, items });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse_yyyymmdd(s).expect("date")
    }

    fn value(c: &Checkup, name: &str) -> f64 {
        c.items.iter().find(|i| i.name == name).and_then(|i| i.value.parse().ok()).expect("numeric item")
    }

    #[test]
    fn only_ages_40_to_74_within_5_years() {
        let today = d("20261124");
        assert!(history(1, PersonId(1), d("19900101"), true, today, d("20000101"), today).is_empty(), "aged 36");
        assert!(history(1, PersonId(1), d("19400101"), true, today, d("20000101"), today).is_empty(), "aged 86");
        let h = history(1, PersonId(1), d("19700101"), true, today, d("20000101"), today);
        assert!((4..=5).contains(&h.len()), "{}", h.len());
        for c in &h {
            assert!(c.date >= d("20211124") && c.date <= today.add_days(-LAG_DAYS).expect("date"));
        }
    }

    #[test]
    fn values_are_plausible_and_consistent() {
        let today = d("20261124");
        for i in 0..200 {
            let h = history(3, PersonId(i), d("19650606"), i % 2 == 0, today, d("20000101"), today);
            assert_eq!(h, history(3, PersonId(i), d("19650606"), i % 2 == 0, today, d("20000101"), today));
            let heights: Vec<f64> = h.iter().map(|c| value(c, "身長")).collect();
            for c in &h {
                let (height, weight, bmi) = (value(c, "身長"), value(c, "体重"), value(c, "BMI"));
                assert!((130.0..210.0).contains(&height));
                assert!((bmi - weight / (height / 100.0).powi(2)).abs() < 0.15, "BMI follows height and weight");
                let (sbp, dbp) = (value(c, "収縮期血圧"), value(c, "拡張期血圧"));
                assert!(sbp > dbp && dbp >= 45.0);
            }
            let spread =
                heights.iter().cloned().fold(f64::MIN, f64::max) - heights.iter().cloned().fold(f64::MAX, f64::min);
            assert!(spread < 2.5, "height is stable over the years: {heights:?}");
        }
    }
}
