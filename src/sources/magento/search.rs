//! Magento's `searchCriteria` query parameters, built as the REST API
//! reads them.

/// One `searchCriteria`: filter groups (AND) of filters (OR), sorts, page.
#[derive(Debug, Clone, Default)]
pub(super) struct Search {
    pub(super) groups: Vec<Vec<(String, String, &'static str)>>,
    pub(super) sorts: Vec<(&'static str, &'static str)>,
    pub(super) page_size: u32,
}

impl Search {
    pub(super) fn filter(
        mut self,
        field: &str,
        value: impl Into<String>,
        condition: &'static str,
    ) -> Self {
        self.groups
            .push(vec![(field.to_owned(), value.into(), condition)]);
        self
    }

    pub(super) fn sort(mut self, field: &'static str, direction: &'static str) -> Self {
        self.sorts.push((field, direction));
        self
    }

    /// The query pairs Magento expects, snake_case as the docs spell it.
    pub(super) fn query(&self, page: u32) -> Vec<(String, String)> {
        let mut q = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            for (f, (field, value, cond)) in group.iter().enumerate() {
                let p = format!("searchCriteria[filter_groups][{g}][filters][{f}]");
                q.push((format!("{p}[field]"), field.clone()));
                q.push((format!("{p}[value]"), value.clone()));
                q.push((format!("{p}[condition_type]"), (*cond).to_owned()));
            }
        }
        for (i, (field, dir)) in self.sorts.iter().enumerate() {
            q.push((
                format!("searchCriteria[sortOrders][{i}][field]"),
                (*field).to_owned(),
            ));
            q.push((
                format!("searchCriteria[sortOrders][{i}][direction]"),
                (*dir).to_owned(),
            ));
        }
        q.push((
            "searchCriteria[pageSize]".into(),
            self.page_size.to_string(),
        ));
        q.push(("searchCriteria[currentPage]".into(), page.to_string()));
        q
    }
}
