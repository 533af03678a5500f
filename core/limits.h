// Size limits applied to every input. Defaults here; the server's config file
// may change them (webhooks.v1.Limits).
#ifndef WEBHOOKS_CORE_LIMITS_H_
#define WEBHOOKS_CORE_LIMITS_H_

#include <cstddef>

namespace webhooks::core {

struct Limits {
  int max_site_length = 512;
  int max_site_depth = 32;
  int max_type_length = 128;
  int max_url_length = 2048;
  int max_principal_length = 256;
  int max_permission_length = 128;
  int max_groups = 256;
  int default_page_size = 50;
  int max_page_size = 1000;
  int max_subscriptions = 1000000;
  int max_dialects = 1000;
  int max_subscriptions_per_owner = 10000;
  int max_dialect_headers = 32;
  int max_header_name_length = 128;
  int max_header_value_length = 4096;
  int max_status_message_length = 1024;
  // Events.
  int max_events_per_call = 1000;
  int max_events_per_transaction = 10000;
  int max_representations = 16;
  int max_representation_bytes = 1 << 20;
  int max_acl_entries = 256;
  int max_type_list = 32;
  int max_event_id_length = 128;
  int max_transaction_id_length = 128;
  // Payload filters (Subscription.filter): the JSON text, how deep $and,
  // $or and $not nest, how many conditions, and how many operand values
  // ($eq, $in lists) in all.
  int max_filter_bytes = 4096;
  int max_filter_depth = 8;
  int max_filter_predicates = 64;
  int max_filter_values = 256;
  // Subscription.delivery: its timeouts, and its retry schedule's length
  // and longest delay.
  int max_delivery_connect_timeout_ms = 30000;
  int max_delivery_timeout_ms = 120000;
  int max_retry_schedule_entries = 20;
  int max_retry_delay_seconds = 86400;
};

}  // namespace webhooks::core

#endif  // WEBHOOKS_CORE_LIMITS_H_
