//! The French public holidays' names, as `colisync calendar` prints them.

use crate::domain::calendar::Holiday;

impl Holiday {
    /// The holiday's usual French name.
    pub fn name_fr(self) -> &'static str {
        match self {
            Holiday::NewYear => "Jour de l'an",
            Holiday::EasterMonday => "Lundi de Pâques",
            Holiday::LabourDay => "Fête du Travail",
            Holiday::VictoryInEurope => "Victoire 1945",
            Holiday::Ascension => "Ascension",
            Holiday::WhitMonday => "Lundi de Pentecôte",
            Holiday::BastilleDay => "Fête nationale",
            Holiday::Assumption => "Assomption",
            Holiday::AllSaints => "Toussaint",
            Holiday::Armistice => "Armistice 1918",
            Holiday::Christmas => "Noël",
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::calendar::public_holidays;

    #[test]
    fn holidays_2027_by_name() {
        let names: Vec<(String, &str)> = public_holidays(2027)
            .into_iter()
            .map(|(d, h)| (d.format("%m-%d").to_string(), h.name_fr()))
            .collect();
        let expected = [
            ("01-01", "Jour de l'an"),
            ("03-29", "Lundi de Pâques"),
            ("05-01", "Fête du Travail"),
            ("05-06", "Ascension"),
            ("05-08", "Victoire 1945"),
            ("05-17", "Lundi de Pentecôte"),
            ("07-14", "Fête nationale"),
            ("08-15", "Assomption"),
            ("11-01", "Toussaint"),
            ("11-11", "Armistice 1918"),
            ("12-25", "Noël"),
        ];
        let expected: Vec<(String, &str)> =
            expected.iter().map(|(d, n)| (d.to_string(), *n)).collect();
        assert_eq!(names, expected);
    }
}
