-- Activity and promise-target ids in data/agreements/ (the activity log must name one of them).
select activity_id from plan.activities
union
select target_id from plan.promise_targets
