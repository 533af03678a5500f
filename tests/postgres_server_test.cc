#include "tests/postgres_server.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace webhooks::testing {
namespace {

TEST(PostgresServerTest, StartsCreatesDatabasesSurvivesKillAndReplicates) {
  absl::StatusOr<std::unique_ptr<PostgresServer>> server =
      PostgresServer::StartNew();
  ASSERT_TRUE(server.ok()) << server.status();
  PostgresServer& pg = **server;
  ASSERT_TRUE(pg.CreateDatabase("t1").ok());
  ASSERT_TRUE(pg.Sql("t1", "CREATE TABLE x (v int); INSERT INTO x VALUES (7)")
                  .ok());
  EXPECT_EQ(*pg.Sql("t1", "SELECT v FROM x"), "7");

  ASSERT_EQ(pg.Kill9(), absl::OkStatus());
  EXPECT_FALSE(pg.Sql("t1", "SELECT 1").ok());
  ASSERT_EQ(pg.Start(), absl::OkStatus());
  EXPECT_EQ(*pg.Sql("t1", "SELECT v FROM x"), "7");
  ASSERT_EQ(pg.Restart(), absl::OkStatus());
  EXPECT_EQ(*pg.Sql("t1", "SELECT v FROM x"), "7");

  absl::StatusOr<std::unique_ptr<PostgresServer>> standby =
      pg.StartStandby(/*synchronous=*/true);
  ASSERT_TRUE(standby.ok()) << standby.status();
  ASSERT_TRUE(pg.Sql("t1", "INSERT INTO x VALUES (8)").ok());
  EXPECT_EQ(*(*standby)->Sql("t1", "SELECT count(*) FROM x"), "2");
  EXPECT_FALSE((*standby)->Sql("t1", "INSERT INTO x VALUES (9)").ok());
  ASSERT_EQ(pg.Kill9(), absl::OkStatus());
  ASSERT_EQ((*standby)->Promote(), absl::OkStatus());
  EXPECT_TRUE((*standby)->Sql("t1", "INSERT INTO x VALUES (9)").ok());
  EXPECT_EQ(*(*standby)->Sql("t1", "SELECT count(*) FROM x"), "3");
  EXPECT_EQ(PostgresServer::MultiHostDsn({&pg, standby->get()}, "t1"),
            "host=127.0.0.1,127.0.0.1 port=" + std::to_string(pg.port()) +
                "," + std::to_string((*standby)->port()) +
                " user=postgres dbname=t1 target_session_attrs=read-write");
}

}  // namespace
}  // namespace webhooks::testing
