//! The plan as a table for `colisync once --dry-run`: one line per action,
//! columns key, rule, action, list, title. Shows only what the cards show
//! (never a secret, never a URL with credentials).

use super::Action;

const TITLE_MAX: usize = 72;

/// Renders `actions` as an aligned plain-text table, or a one-line note when
/// there is nothing to do.
pub fn render_plan_table(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "Nothing to do: the board is up to date.\n".to_owned();
    }
    let rows: Vec<[String; 5]> = actions.iter().map(row).collect();
    let header = ["KEY", "RULE", "ACTION", "LIST", "TITLE"].map(str::to_owned);
    let mut widths = [0usize; 5];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in r.iter().zip(widths).enumerate() {
            if i == 4 {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let writes = actions.iter().filter(|a| a.writes_board()).count();
    out.push_str(&format!(
        "{} action(s), {} touching Trello.\n",
        actions.len(),
        writes
    ));
    out
}

fn row(a: &Action) -> [String; 5] {
    let dash = || "-".to_owned();
    let arrow = |t: &Option<super::ListTarget>| {
        t.as_ref()
            .map_or_else(dash, |t| format!("→ {}{}", t.name, missing(t)))
    };
    let (rule, action, list, title) = match a {
        Action::Create {
            rule,
            list,
            content,
            note,
            ..
        } => (
            rule.as_str().to_owned(),
            if note.is_some() {
                "create (re-file)"
            } else {
                "create"
            }
            .to_owned(),
            format!("{}{}", list.name, missing(list)),
            content.title.clone(),
        ),
        Action::Update {
            rule,
            content,
            move_to,
            ..
        } => (
            rule.as_str().to_owned(),
            "update".to_owned(),
            arrow(move_to),
            content.title.clone(),
        ),
        Action::Reopen {
            rule,
            content,
            move_to,
            ..
        } => (
            rule.as_str().to_owned(),
            "reopen".to_owned(),
            arrow(move_to),
            content.as_ref().map_or_else(dash, |c| c.title.clone()),
        ),
        Action::Resolve {
            rule,
            title,
            move_to,
            comment,
            ..
        } => (
            rule.map_or_else(dash, |r| r.as_str().to_owned()),
            if comment.is_some() {
                "resolve"
            } else {
                "resolve (move)"
            }
            .to_owned(),
            arrow(move_to),
            title.clone(),
        ),
        Action::Adopt {
            rule,
            title,
            status,
            ..
        } => (
            rule.map_or_else(dash, |r| r.as_str().to_owned()),
            format!("adopt ({status:?})").to_lowercase(),
            dash(),
            title.clone(),
        ),
        Action::MarkArchived { title, .. } => (
            dash(),
            "archived by a lead".to_owned(),
            dash(),
            title.clone(),
        ),
        Action::Comment { text, .. } => (dash(), "comment".to_owned(), dash(), text.clone()),
    };
    [a.key().to_string(), rule, action, list, truncate(&title)]
}

fn missing(t: &super::ListTarget) -> &'static str {
    if t.id.is_none() { " (missing)" } else { "" }
}

fn truncate(s: &str) -> String {
    let s = s.replace(['\n', '\r', '\t'], " ");
    if s.chars().count() <= TITLE_MAX {
        s
    } else {
        let mut t: String = s.chars().take(TITLE_MAX - 1).collect();
        t.push('…');
        t
    }
}
