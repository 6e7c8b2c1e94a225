//! Leases on a group's execution slots, shared by every server on the store: how a plan's concurrent
//! executions hold across servers. Times are the store's fixed-width text, compared as text.

use crate::{Result, Store};
use sqlx::Row;

impl Store {
    /// Leases one of `group_id`'s slots below `limit` that nobody holds (or whose lease expired before
    /// `now`) to `holder` until `until`, trying them in order except those in `skip`. Returns the slot,
    /// or `None` when all are held.
    pub async fn claim_execution_slot(
        &self,
        group_id: &str,
        limit: u32,
        skip: &[u32],
        holder: &str,
        now: &str,
        until: &str,
    ) -> Result<Option<u32>> {
        for slot in (0..limit).filter(|s| !skip.contains(s)) {
            // One statement decides: the row is made, or taken over only when its lease has expired.
            let done = sqlx::query(
                "INSERT INTO execution_leases (group_id, slot, holder, expires_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (group_id, slot) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                 WHERE execution_leases.expires_at < $5",
            )
            .bind(group_id)
            .bind(i64::from(slot))
            .bind(holder)
            .bind(until)
            .bind(now)
            .execute(self.pool())
            .await?;
            if done.rows_affected() == 1 {
                return Ok(Some(slot));
            }
        }
        Ok(None)
    }

    /// Extends every lease `holder` has to `until`; returns them, by group and slot (a lease another
    /// server took over once it expired is not among them).
    pub async fn renew_execution_slots(
        &self,
        holder: &str,
        until: &str,
    ) -> Result<Vec<(String, u32)>> {
        let rows = sqlx::query(
            "UPDATE execution_leases SET expires_at = $1 WHERE holder = $2 RETURNING group_id, slot",
        )
        .bind(until)
        .bind(holder)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let slot: i64 = row.try_get("slot")?;
                Ok((
                    row.try_get("group_id")?,
                    u32::try_from(slot)
                        .map_err(|e| crate::StoreError::corrupt("execution_leases.slot", e))?,
                ))
            })
            .collect()
    }

    /// Gives a slot back (only if `holder` still has it).
    pub async fn release_execution_slot(
        &self,
        group_id: &str,
        slot: u32,
        holder: &str,
    ) -> Result<()> {
        sqlx::query(
            "DELETE FROM execution_leases WHERE group_id = $1 AND slot = $2 AND holder = $3",
        )
        .bind(group_id)
        .bind(i64::from(slot))
        .bind(holder)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Gives back every slot `holder` has (a server that stops).
    pub async fn release_all_execution_slots(&self, holder: &str) -> Result<()> {
        sqlx::query("DELETE FROM execution_leases WHERE holder = $1")
            .bind(holder)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
