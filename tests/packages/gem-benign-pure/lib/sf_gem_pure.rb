module SfGemPure
  WORDS = %w[hello from a plain gem].freeze
end
