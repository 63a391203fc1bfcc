-- Follow-up of agreement activities and citizen-promise targets: target vs done per tertial, quarter and year.
-- One row per item and reporting period (tertial, kvartal, år) that has started, evaluated at the period's end
-- (or today, for the current period). Occasions come from the activity log (feed activity_log, activity_id = the
-- activity's or target's id in data/agreements/).
-- Status rules:
--   target window   the calendar year of the period for targets per year/tertial/quarter/month (scaled to a year:
--                   ×1, ×3, ×4, ×12), or the document's whole validity for targets per period; clipped to validity.
--   done_to_date    occasions from the window start up to the evaluation date.
--   expected        floor(window target × elapsed share of the window's days).
--   klar            done_to_date ≥ window target
--   efter plan      the window has ended below target, or done_to_date < expected
--   ej påbörjad     nothing done yet and nothing expected yet
--   enligt plan     otherwise
--   Without a countable target: 'enligt plan' if anything was logged in the period, else 'ej påbörjad'.
with items as (
    select
        ag.municipality_code, 'aktivitet' as item_type, a.agreement_id as document_id, a.activity_id as item_id,
        a.ordinal, a.name, a.lead_party as party, a.target_count, a.target_per, ag.valid_from, ag.valid_to
    from plan.activities as a
    inner join plan.agreements as ag on ag.agreement_id = a.agreement_id
    union all
    select
        d.municipality_code, 'medborgarlöfte', t.promise_doc_id, t.target_id,
        row_number() over (partition by t.promise_doc_id order by t.promise_id, t.target_id), t.text, t.party,
        t.target_count, t.target_per, d.valid_from, d.valid_to
    from plan.promise_targets as t
    inner join plan.promise_docs as d on d.promise_doc_id = t.promise_doc_id
),

grains as (
    select * from (values ('tertial', 4), ('kvartal', 3), ('år', 12)) as g(grain, months)
),

periods as (
    select * from (
        select
            i.*, g.grain, g.months,
            unnest(generate_series(date_trunc('year', i.valid_from)::timestamp, i.valid_to::timestamp,
                                   to_months(g.months)))::date as period_start
        from items as i cross join grains as g
    )
    where period_start <= current_date and period_start + to_months(months) > valid_from
),

windows as (
    select
        *,
        (period_start + to_months(months) - interval 1 day)::date as period_end,
        least((period_start + to_months(months) - interval 1 day)::date, current_date) as evaluated_at,
        case when target_per = 'period' then valid_from
             else greatest(date_trunc('year', period_start)::date, valid_from) end as window_start,
        case when target_per = 'period' then valid_to
             else least((date_trunc('year', period_start) + interval 1 year - interval 1 day)::date, valid_to) end
            as window_end,
        case target_per when 'year' then target_count when 'tertial' then target_count * 3
             when 'quarter' then target_count * 4 when 'month' then target_count * 12
             when 'period' then target_count end as window_target
    from periods
),

logged as (
    select
        w.*,
        coalesce((select sum(l.occasions) from staging.stg_activity_log as l
                  where l.municipality_code = w.municipality_code and l.activity_id = w.item_id
                    and l.date between w.period_start and w.period_end), 0) as done_in_period,
        coalesce((select sum(l.occasions) from staging.stg_activity_log as l
                  where l.municipality_code = w.municipality_code and l.activity_id = w.item_id
                    and l.date between w.window_start and least(w.evaluated_at, w.window_end)), 0) as done_to_date
    from windows as w
),

scored as (
    select
        *,
        case when window_target is null then null
             else floor(window_target * least(1.0, greatest(0.0,
                 (least(evaluated_at, window_end) - window_start + 1) / (window_end - window_start + 1)::double)))::bigint
        end as expected
    from logged
)

select
    municipality_code,
    item_type,
    document_id,
    item_id,
    ordinal,
    name,
    party,
    grain,
    period_start,
    period_end,
    evaluated_at,
    window_start,
    window_end,
    window_target as target,
    expected,
    done_in_period::bigint as done_in_period,
    done_to_date::bigint as done_to_date,
    case
        when window_target is null then case when done_in_period > 0 then 'enligt plan' else 'ej påbörjad' end
        when done_to_date >= window_target then 'klar'
        when evaluated_at >= window_end then 'efter plan'
        when done_to_date = 0 and expected = 0 then 'ej påbörjad'
        when done_to_date < expected then 'efter plan'
        else 'enligt plan'
    end as status
from scored
order by municipality_code, document_id, ordinal, grain, period_start
