#include "serve/model_repository.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "serve/serve_test_repository.h"

namespace tessera::serve {
namespace {

namespace fs = std::filesystem;
using testing::AffineModel;
using testing::TestRepository;

TEST(ModelRepositoryTest, ModelNamesAreRestricted) {
  EXPECT_TRUE(ValidateModelName("resnet50_v1.5-int8").ok());
  for (const char* bad : {"", ".", "..", "../x", "a/b", "a\\b", "x y", "caf\xc3\xa9", "a\nb"}) {
    EXPECT_EQ(ValidateModelName(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ValidateModelName(std::string(300, 'a')).ok());
}

TEST(ModelRepositoryTest, PrintableNameHidesControlBytes) { EXPECT_EQ(PrintableName("a\nb\xff"), "a?b?"); }

TEST(ModelRepositoryTest, ListsModelFoldersAndTheirNumericVersions) {
  TestRepository repo;
  repo.AddModel("b", "1", AffineModel());
  repo.AddModel("b", "12", AffineModel());
  repo.AddModel("b", "latest", AffineModel());  // not a number: ignored
  repo.AddModel("b", "007", AffineModel());     // leading zeros: not a canonical version, ignored
  repo.AddModel("a", "3", AffineModel());
  fs::create_directories(repo.root() + "/.hidden/1");
  std::ofstream(repo.root() + "/stray_file") << "x";
  auto r = ModelRepository::Open(repo.root());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ListModels(), (std::vector<std::string>{"a", "b"}));
  auto b = r->Locate("b");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_EQ(b->versions.size(), 2u);
  EXPECT_EQ(b->versions.rbegin()->first, 12);
  EXPECT_TRUE(b->problem.empty());
  EXPECT_FALSE(b->config_path);
}

TEST(ModelRepositoryTest, FolderWithoutModelFileHasAProblem) {
  TestRepository repo;
  fs::create_directories(repo.root() + "/empty/1");
  auto r = ModelRepository::Open(repo.root());
  ASSERT_TRUE(r.ok());
  auto folder = r->Locate("empty");
  ASSERT_TRUE(folder.ok());
  EXPECT_TRUE(folder->versions.empty());
  EXPECT_NE(folder->problem.find("model.onnx"), std::string::npos) << folder->problem;
}

TEST(ModelRepositoryTest, UnknownModelIsNotFound) {
  TestRepository repo;
  auto r = ModelRepository::Open(repo.root());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Locate("nothing").status().code(), StatusCode::kNotFound);
}

TEST(ModelRepositoryTest, EscapeAttemptsAreRefused) {
  TestRepository outside;
  outside.AddModel("secret", "1", AffineModel());
  TestRepository repo;
  repo.AddModel("ok", "1", AffineModel());
  auto r = ModelRepository::Open(repo.root());
  ASSERT_TRUE(r.ok());
  for (const std::string& name :
       {std::string("../x"), std::string(".."), "../" + fs::path(outside.root()).filename().string()}) {
    EXPECT_EQ(r->Locate(name).status().code(), StatusCode::kInvalidArgument) << name;
  }
  // A symlinked model folder or version that points outside is not followed.
  fs::create_directory_symlink(outside.root() + "/secret", repo.root() + "/linked");
  EXPECT_EQ(r->Locate("linked").status().code(), StatusCode::kInvalidArgument);
  fs::create_directories(repo.root() + "/partly");
  fs::create_directory_symlink(outside.root() + "/secret/1", repo.root() + "/partly/1");
  auto partly = r->Locate("partly");
  ASSERT_TRUE(partly.ok());
  EXPECT_TRUE(partly->versions.empty());
  EXPECT_NE(partly->problem.find("outside the repository"), std::string::npos) << partly->problem;
}

TEST(ModelRepositoryTest, SymlinksInsideTheRepositoryAreFollowed) {
  TestRepository repo;
  repo.AddModel("real", "1", AffineModel());
  fs::create_directory_symlink(repo.root() + "/real", repo.root() + "/alias");
  auto r = ModelRepository::Open(repo.root());
  ASSERT_TRUE(r.ok());
  auto alias = r->Locate("alias");
  ASSERT_TRUE(alias.ok()) << alias.status().ToString();
  EXPECT_EQ(alias->versions.size(), 1u);
}

TEST(ModelRepositoryTest, SingleModelRepositoryHoldsOnlyItsModel) {
  ModelRepository r = ModelRepository::SingleModel("tiny_cnn", 1, "/x/model.onnx");
  EXPECT_EQ(r.ListModels(), std::vector<std::string>{"tiny_cnn"});
  EXPECT_TRUE(r.Locate("tiny_cnn").ok());
  EXPECT_EQ(r.Locate("other").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(r.Locate("../tiny_cnn").status().code(), StatusCode::kInvalidArgument);
}

TEST(ModelRepositoryTest, BundledExampleIsFound) {
  auto path = FindBundledExampleModel();
  ASSERT_TRUE(path.ok()) << path.status().ToString();
  EXPECT_TRUE(fs::is_regular_file(*path));
}

}  // namespace
}  // namespace tessera::serve
