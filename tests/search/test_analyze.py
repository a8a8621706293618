"""Analyzers: normalization, Chinese segmentation with the crypto dictionary, stemming."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kefu.search import analyze
from kefu.search.stem import porter_stem


def test_fullwidth_text_is_normalized_to_ascii_terms() -> None:
    assert analyze.terms("ＵＳＤＴ　ＴＲＣ２０") == analyze.terms("usdt trc20") == ["usdt", "trc20"]


def test_case_is_folded() -> None:
    assert analyze.terms("KYC Review") == analyze.terms("kyc review")


def test_crypto_words_stay_whole() -> None:
    terms = analyze.terms("我的谷歌验证器丢了，提币被冻结")
    assert "谷歌验证器" in terms
    assert "提币" in terms
    assert "冻结" in terms


def test_search_mode_also_yields_the_parts_of_long_words() -> None:
    terms = analyze.terms("资金费率")
    assert {"资金费率", "资金", "费率"} <= set(terms)


def test_english_words_are_stemmed_and_stop_words_dropped() -> None:
    assert analyze.terms("Why are my withdrawals pending?") == ["withdraw", "pend"]
    assert analyze.terms("withdrawal") == analyze.terms("withdrawals")


def test_hyphenated_codes_meet_their_joined_form() -> None:
    assert "erc20" in analyze.terms("ERC-20 deposit")
    assert "erc20" in analyze.terms("ERC20 deposit")


def test_mixed_chinese_and_english_query() -> None:
    terms = analyze.terms("USDT充值没到账")
    assert terms[0] == "usdt"
    assert "充值" in terms
    assert "到账" in terms


def test_chinese_stop_words_are_dropped() -> None:
    assert "怎么" not in analyze.terms("怎么提币")
    assert "的" not in analyze.terms("我的提币")


def test_porter_reference_examples() -> None:
    examples = {"caresses": "caress", "ponies": "poni", "relational": "relat",
                "conditional": "condit", "hopping": "hop", "filing": "file",
                "generalizations": "gener", "liquidation": "liquid", "agreed": "agre"}
    assert {word: porter_stem(word) for word in examples} == examples


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=20))
def test_stems_keep_the_first_letter_and_barely_grow(word: str) -> None:
    stem = porter_stem(word)
    assert len(stem) <= len(word) + 1  # step 1b may add an 'e' ("hoping" -> "hope")
    assert stem[:1] == word[:1]


def test_scripts_and_language_scripts() -> None:
    assert analyze.scripts_in("USDT 提币") == {"latin", "han"}
    assert analyze.language_scripts("zh-CN") == {"han"}
    assert analyze.language_scripts("en") == {"latin"}
    assert analyze.primary_language("zh_TW") == "zh"


def test_every_synonym_is_one_index_term_and_groups_are_symmetric() -> None:
    groups = analyze.synonyms()
    for line in analyze._data_lines("synonyms.txt"):
        for word in line.split():
            assert analyze._whole_terms(word), word
    assert "提币" in groups["提现"]
    assert "提现" in groups["提币"]
    assert "stolen" in groups["hack"]  # "hacked", stemmed
    assert "出金" in groups["提现"]  # a user-dictionary word, not split by jieba


def test_numbers_and_negations_say_nothing_about_a_topic() -> None:
    assert not analyze.is_content_word("1")
    assert not analyze.is_content_word("not")
    assert analyze.is_content_word("2fa")
    assert analyze.is_content_word("trc20")
    # A code no article holds (a TxID, an order number, "500u") says nothing either; a word
    # articles do hold counts, digits or not.
    assert not analyze.is_content_word("0x8f3a7c2e", indexed=False)
    assert not analyze.is_content_word("500u", indexed=False)
    assert analyze.is_content_word("trc20", indexed=True)
    assert analyze.is_content_word("withdrew", indexed=False)  # a word, just not the articles'


def test_traditional_chinese_is_read_as_simplified() -> None:
    """Customers in Taiwan and Hong Kong write 實名認證 and 資金費率; the articles are in
    Simplified Chinese, so BM25 found nothing for them."""
    assert analyze.terms("實名認證怎麼弄") == analyze.terms("实名认证怎么弄")
    assert analyze.terms("資金費率") == analyze.terms("资金费率")
    assert "提币" in analyze.terms("提幣一直在處理中")
    text = "帳戶被凍結 ＵＳＤＴ"
    assert len(analyze.normalize(text)) == len(text)  # snippets map positions back


def test_traditional_conversion_knows_phrases() -> None:
    """乾 is 干 in 乾燥 (dry) but 乾 in 乾隆; 著 stays in 著名 (famous): a character table
    would get one of each wrong."""
    assert analyze.normalize("乾燥 乾隆 著名 頭髮") == "干燥 乾隆 著名 头发"


def test_u_next_to_chinese_or_a_number_is_usdt() -> None:
    assert analyze.terms("怎么用人民币买U")[-1] == "usdt"
    assert "usdt" in analyze.terms("充U走哪条链")
    assert analyze.terms("充了500U")[-2:] == ["500", "usdt"]
    assert "usdt" not in analyze.terms("sent a coin u guys dont list")


def test_a_word_with_an_aspect_particle_has_a_base_form() -> None:
    assert analyze.without_particle("充了") == "充"
    assert analyze.without_particle("提币") == "提币"
    assert analyze.without_particle("了") == "了"
    assert analyze.without_particle("withdrew") == "withdrew"
