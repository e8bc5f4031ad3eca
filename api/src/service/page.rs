//! Page/size pagination with a hard cap.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QuerySelect, Select};

use super::ServiceError;

/// Largest page a client may ask for.
pub const MAX_PAGE_SIZE: u64 = 200;
/// Highest page number: beyond it the offset would leave what a database's 64-bit
/// offset can hold with room to spare, and no list here is that long.
pub const MAX_PAGE: u64 = 1_000_000;
/// Page size when the client gives none.
pub const DEFAULT_PAGE_SIZE: u64 = 50;

/// A validated page request (1-based page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub page: u64,
    pub page_size: u64,
}

impl PageRequest {
    pub fn parse(page: Option<i64>, page_size: Option<i64>) -> Result<Self, ServiceError> {
        let mut v = super::error::Validator::new();
        let page = page.unwrap_or(1);
        let page_size = page_size.unwrap_or(DEFAULT_PAGE_SIZE as i64);
        if !(1..=MAX_PAGE as i64).contains(&page) {
            v.add("page", format!("must be between 1 and {MAX_PAGE}"));
        }
        if !(1..=MAX_PAGE_SIZE as i64).contains(&page_size) {
            v.add(
                "page_size",
                format!("must be between 1 and {MAX_PAGE_SIZE}"),
            );
        }
        v.finish()?;
        Ok(Self {
            page: page as u64,
            page_size: page_size as u64,
        })
    }
}

/// One page of results and the total count.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u64,
    pub page_size: u64,
    pub total: u64,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            page: self.page,
            page_size: self.page_size,
            total: self.total,
        }
    }
}

/// Runs `select` (already ordered) for one page.
pub async fn fetch<E, C>(
    db: &C,
    select: Select<E>,
    req: PageRequest,
) -> Result<Page<E::Model>, DbErr>
where
    E: EntityTrait,
    E::Model: Send + Sync,
    C: ConnectionTrait,
{
    let total = select.clone().count(db).await?;
    let items = select
        .offset((req.page - 1) * req.page_size)
        .limit(req.page_size)
        .all(db)
        .await?;
    Ok(Page {
        items,
        page: req.page,
        page_size: req.page_size,
        total,
    })
}
