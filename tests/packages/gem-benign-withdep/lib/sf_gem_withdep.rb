require "sf_gem_pure"

module SfGemWithdep
  WORDS = SfGemPure::WORDS
end
